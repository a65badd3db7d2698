"""`make bench`: run every benchmark and print its figures."""

from benchmarks import hostile, intake, intake_http, money


def main() -> None:
    intake.main()
    intake_http.main([])
    hostile.main([])
    money.main()


if __name__ == "__main__":
    main()
