"""`make bench`: run every benchmark and print its figures."""

from benchmarks import intake, money


def main() -> None:
    intake.main()
    money.main()


if __name__ == "__main__":
    main()
