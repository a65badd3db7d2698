"""`make bench`: run every benchmark and print its figures."""

from benchmarks import intake


def main() -> None:
    intake.main()


if __name__ == "__main__":
    main()
