"""Offline preview of a stack: ``python scripts/plan.py [STACK] [--json] [--render-k8s DIR] [--debug]``.

Exit status: 0 ok, 1 a mandatory policy violation, 2 invalid input (one line naming the key), 3 an internal
error (a bug to report; ``--debug`` shows the traceback).
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from components.preview.cli import main  # noqa: E402  (needs the repository root on sys.path)

if __name__ == "__main__":
    sys.exit(main(project_dir=ROOT))
