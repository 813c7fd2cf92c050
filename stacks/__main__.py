"""gpuinfra: the one Pulumi program for every environment (dev, staging, prod)."""
import sys
from pathlib import Path

# `main: stacks/` makes stacks/ the working directory and sys.path[0]: put the repository root first
# so `components` imports under the real CLI exactly as under the offline preview.
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from components.program import build, load_spec  # noqa: E402
from components.spec import ConfigError  # noqa: E402

try:
    spec = load_spec()
except ConfigError as exc:
    print(f"error: {exc}", file=sys.stderr)
    sys.exit(2)
build(spec)
