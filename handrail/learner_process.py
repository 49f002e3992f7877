"""The learner process: trains the model on the examples the scorers hand it and publishes its checkpoints."""

import logging
import signal
import threading

import redis

from scorer import checkpoint
from scorer.learner import Learner

log = logging.getLogger("handrail.learner")


def run(redis_url: str, secret: str, name: str | None = None) -> None:
    connection = redis.Redis.from_url(redis_url)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    learner = Learner(connection, checkpoint.Checkpointer(connection, checkpoint.signing_key(secret)), name=name)
    log.info("learner %s started", learner.name)
    learner.run(stop)
