"""`python -m bench` (`make bench`): every benchmark in turn; exit status 1 if any check failed."""

import sys

from bench import collector, e2e, lookup, redis_down, replay, reports, scorer

BENCHMARKS = (collector, scorer, replay, reports, lookup, redis_down, e2e)  # each has main(argv) -> exit status


def main() -> int:
    status = 0
    for benchmark in BENCHMARKS:
        status = max(status, benchmark.main([]))
    return status


if __name__ == "__main__":
    sys.exit(main())
