"""`make bench`: run every benchmark and print its figures."""

import sys

from benchmarks import bulk, intake

BENCHMARKS = {"intake": intake.main, "bulk": bulk.main}


def main() -> None:
    """All benchmarks, or those named: `python -m benchmarks bulk`."""
    for name in sys.argv[1:] or list(BENCHMARKS):
        BENCHMARKS[name]()


if __name__ == "__main__":
    main()
