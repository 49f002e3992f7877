"""Benchmarks of the running service (`make bench`, `python -m bench`): not tests, not timed.

Each benchmark starts what it measures, loads it only on 127.0.0.1, bounded in requests and time,
prints a table of figures beside a baseline measured in the same run, writes them to `var/bench/`,
and stops everything it started.
"""
