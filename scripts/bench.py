"""Time the offline plan per stack against the Pulumi import floor: ``python scripts/bench.py [--runs N] [--stacks a,b]``."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from components.preview.bench import main  # noqa: E402  (needs the repository root on sys.path)

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], ROOT))
