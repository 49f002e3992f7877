"""The RQ worker processes, as `handrail run` starts them (and bench/parts.py; the Procfile says the same).

SimpleWorker: jobs run in the worker itself. rq's default forks a process per job, which imported
dispatch.jobs anew each time (a median job took 299 ms, against 1.3 ms with it imported): at 2,000 events/s
the customer-profile jobs queued up and a decision waited seconds for its task (bench/e2e.py).
"""

import sys

from dispatch import keys as dispatch_keys
from scorer import keys as scorer_keys


def _rq(redis_url: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "rq.cli", "worker", "--url", redis_url, "--serializer", "json", *args]


def commands(redis_url: str) -> dict[str, list[str]]:
    """name -> command line of each worker process."""
    return {
        # Every dispatch job, decisions first; its scheduler runs the expiry sweeps and retries at their time.
        "worker": _rq(redis_url, "--with-scheduler", "--worker-class", "rq.worker.SimpleWorker",
                      *dispatch_keys.QUEUES),
        # Replays have their own queue and worker: a long one never holds up a dispatch job.
        "replay": _rq(redis_url, scorer_keys.REPLAY_QUEUE),
    }
