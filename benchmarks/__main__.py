"""`make bench`: run every benchmark and print its figures (or those named: `python -m benchmarks bulk`)."""

import sys

from benchmarks import bulk, hostile, intake, intake_http, money

BENCHMARKS = {
    "intake": intake.main,
    "intake_http": lambda: intake_http.main([]),
    "hostile": lambda: hostile.main([]),
    "money": money.main,
    "bulk": bulk.main,
}


def main() -> None:
    for name in sys.argv[1:] or list(BENCHMARKS):
        BENCHMARKS[name]()


if __name__ == "__main__":
    main()
