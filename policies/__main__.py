"""Entry point of `pulumi preview --policy-pack policies`: the only place the PolicyPack is built (it blocks)."""
import sys
from pathlib import Path

# The CLI runs this directory as the program (sys.path[0] = policies/): put the repository root first so the
# rules reuse components.catalog / components.plan instead of restating prices and formulas.
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pulumi_policy import EnforcementLevel, PolicyPack  # noqa: E402

from policies.pack import PACK_NAME, build_policies  # noqa: E402

PolicyPack(name=PACK_NAME, policies=build_policies(), enforcement_level=EnforcementLevel.ADVISORY)
