"""`make bench`: run every benchmark and print its figures."""

from benchmarks import hostile, intake, intake_http


def main() -> None:
    intake.main()
    intake_http.main([])
    hostile.main([])


if __name__ == "__main__":
    main()
