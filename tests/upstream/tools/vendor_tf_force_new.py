"""Vendor which terraform-provider-google attributes force replacement (ForceNew), as test data.

Usage: python tests/upstream/tools/vendor_tf_force_new.py  (reads the git mirror; writes tests/upstream/terraform/)
Output ``force_new.json``: {"source": {...}, "<resource>": [attribute paths, "/"-joined, ForceNew: true]}.
The Go schema literals are read line by line (one ``"key": {`` per line, as the provider's generated code is
written); nested schemas built by helper functions (``"taint_config": schemaTaintConfig()``) are not expanded.
"""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "terraform" / "force_new.json"
MIRROR = Path("/work/.mirror/hashicorp+terraform-provider-google/repo")
REF = "v7.45.0"
#: resource -> (file, first line of the schema literal to read from, or None for the whole file)
FILES = {
    "google_container_node_pool.node_config": ("google/services/container/node_config.go", "func schemaNodeConfig()"),
    "google_compute_region_instance_group_manager": (
        "google/services/compute/resource_compute_region_instance_group_manager.go", None),
}
_KEY = re.compile(r'^\s*"([a-z0-9_]+)":\s*\{\s*$')


def force_new_paths(text: str, start: str | None) -> list[str]:
    """Attribute paths whose schema literal sets ``ForceNew: true``."""
    lines = text.splitlines()
    if start:
        lines = lines[next(i for i, line in enumerate(lines) if line.startswith(start)):]
    stack: list[tuple[str, int]] = []
    depth, found = 0, []
    for line in lines:
        if start and depth == 0 and stack == [] and found and line.startswith("func "):
            break
        match = _KEY.match(line)
        if match:
            stack.append((match.group(1), depth))
        if re.match(r"^\s*ForceNew:\s*true,", line) and stack:
            found.append("/".join(k for k, _ in stack))
        depth += line.count("{") - line.count("}")
        while stack and depth <= stack[-1][1]:
            stack.pop()
    return sorted(set(found))


def main() -> None:
    """Read each file at REF from the mirror and write the ForceNew paths."""
    commit = subprocess.run(["git", f"--git-dir={MIRROR}", "rev-parse", f"{REF}^{{commit}}"], check=True,
                            capture_output=True, text=True).stdout.strip()
    doc: dict = {"source": {"repo": "hashicorp/terraform-provider-google", "ref": REF, "commit": commit,
                            "licence": "MPL-2.0", "files": {k: v[0] for k, v in FILES.items()}}}
    for resource, (path, start) in FILES.items():
        text = subprocess.run(["git", f"--git-dir={MIRROR}", "show", f"{REF}:{path}"], check=True,
                              capture_output=True, text=True).stdout
        doc[resource] = force_new_paths(text, start)
    OUT.write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    main()
