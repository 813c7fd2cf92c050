"""Former type tokens of renamed components, kept as aliases so a rename never replaces deployed resources."""
from __future__ import annotations

import pulumi

#: New type token -> the token it replaced (issue 16 item 5 aligned the class names across aws/ and gcp/).
RENAMED: dict[str, str] = {
    "gpuinfra:aws:EksWeightsAccess": "gpuinfra:aws:WeightsAccess",
    "gpuinfra:gcp:GcpReservation": "gpuinfra:gcp:GpuReservation",
}


def aliased(opts: pulumi.ResourceOptions | None, old_type: str) -> pulumi.ResourceOptions:
    """``opts`` plus an alias to the component's former type token (same name, same parent).

    Children need no alias of their own: with alias specs (pulumi 3.272.0 ``runtime/resource.py``
    ``prepare_aliases``, advertised by the CLI and by ``runtime/mocks.py``) the engine derives a child's old URN
    from its parent's aliases; without them the SDK does it itself (``all_aliases`` / ``inherited_child_alias``).

    Args:
        opts: The caller's options, or None.
        old_type: The type token the component was registered under before its rename.

    Returns:
        Merged options.
    """
    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(aliases=[pulumi.Alias(type_=old_type)]))
