"""gpuinfra: the one Pulumi program for every environment (dev, staging, prod).

Exit status: 2 invalid configuration (one line naming the key, before anything registers); 3 an internal
error (a bug: the traceback follows, please report it). The engine reports a failed deployment as 1.
"""
import sys
import traceback
from pathlib import Path

# `main: stacks/` makes stacks/ the working directory and sys.path[0]: put the repository root first
# so `components` imports under the real CLI exactly as under the offline preview.
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from components.program import build, load_spec, plan  # noqa: E402
from components.spec import ConfigError  # noqa: E402

EXIT_CONFIG, EXIT_INTERNAL = 2, 3


def _internal(exc: BaseException) -> None:
    traceback.print_exception(exc, file=sys.stderr)
    print(f"internal error: {type(exc).__name__}: {exc}".splitlines()[0] + " (a gpuinfra bug: please report it "
          "with the traceback above)", file=sys.stderr)
    sys.exit(EXIT_INTERNAL)


try:
    stack = plan(load_spec())  # validation and every plan-time check: nothing is registered yet
except ConfigError as exc:
    print(f"error: {exc}", file=sys.stderr)
    sys.exit(EXIT_CONFIG)
except Exception as exc:  # noqa: BLE001 an unexpected exception is a bug, never dressed as bad input
    _internal(exc)
try:
    build(stack)
except ConfigError as exc:  # a check raised while rendering: still the user's input, named by key
    print(f"error: {exc}", file=sys.stderr)
    sys.exit(EXIT_CONFIG)
except Exception as exc:  # noqa: BLE001
    _internal(exc)
