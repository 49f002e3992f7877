"""The scorer process: the stream consumer wired to the dispatch queue."""

import gc
import logging
import signal
import threading
import time

import redis
from rq import Queue, Retry
from rq.serializers import JSONSerializer

from dispatch import agents, outreach
from dispatch import keys as dispatch_keys
from scorer import checkpoint, defaults
from scorer.consumer import COUPON, ENDED, IDENTIFIED, PURCHASE, Scorer

log = logging.getLogger("handrail.scorer")

JOB = "dispatch.jobs.handle_decision"
CREDIT_JOB = "dispatch.jobs.credit_order"
ENDED_JOB = "dispatch.jobs.session_ended"
IDENTIFIED_JOB = "dispatch.jobs.customer_identified"
LEFT_JOB = "dispatch.jobs.customer_left"
COUPON_JOB = "dispatch.jobs.coupon_entered"
RETRY = Retry(max=3, interval=[1, 5, 15])  # seconds between attempts


GC_YOUNG = 50_000  # allocations between two passes over the youngest objects (Python's default: 700)


def quiet_collector() -> None:
    """What start-up made (modules, the model, the rules: about 112,000 objects) stays: left out of the
    collector's passes, a full one no longer stops the scorer for about 70 ms under load (bench/e2e.py).
    A batch's objects are freed by reference counting once it is written; at the default
    threshold (700) the collector still ran 1,826 times over the 41,247 events of `python -m bench.scorer
    --shoppers 2000` (13 of them full passes), at this one 3 times."""
    gc.freeze()
    gc.set_threshold(GC_YOUNG, *gc.get_threshold()[1:])


def make_queue(connection, name: str = dispatch_keys.QUEUE) -> Queue:
    return Queue(name, connection=connection, serializer=JSONSerializer)


def enqueuer(queue: Queue):
    def on_decision(decision: dict) -> None:
        # The job id is the decision id: the idempotency key all the way to the task.
        queue.enqueue(JOB, decision, job_id=decision["id"], retry=RETRY)
        log.info("decision %s: rule %s for %s", decision["id"], decision["rule"], decision["anonymous_id"])

    return on_decision


def outcome_enqueuer(queue: Queue):
    """The scorer's on_outcome: a purchase is credited to the contacting decision's task and kept with the
    customer (dispatch.jobs.credit_order); a contacted session that ended withdraws its task if nobody took
    it (dispatch.jobs.session_ended); a known customer's identify and session end update their profile
    (dispatch.jobs.customer_identified, customer_left). Job ids come from the decision (or the order, or the
    session): one job per outcome; an identify told twice only writes the same traits again."""
    def on_outcome(kind: str, outcome: dict) -> None:
        decision = outcome["decision"]
        if kind == PURCHASE:
            order = dict(outcome["order"], site=outcome["site"], user_id=outcome["user_id"],
                         anonymous_id=outcome["anonymous_id"])
            at = int(order["at"] * 1000)
            job_id = f"credit-{decision}" if decision else f"order-{outcome['anonymous_id'][:100]}-{at}"
            queue.enqueue(CREDIT_JOB, decision, order, job_id=job_id, retry=RETRY)
        elif kind == ENDED:
            if decision:
                queue.enqueue(ENDED_JOB, decision, job_id=f"ended-{decision}", retry=RETRY)
            if outcome["user_id"]:
                visit = {name: outcome[name] for name in ("anonymous_id", "at", "started_at", "cart", "step",
                                                          "trouble", "tz")}
                queue.enqueue(LEFT_JOB, outcome["site"], outcome["user_id"], visit, retry=RETRY,
                              job_id=f"left-{outcome['anonymous_id'][:100]}-{int(outcome['at'] * 1000)}")
        elif kind == COUPON:
            queue.enqueue(COUPON_JOB, outcome["coupon"], outcome["anonymous_id"], outcome["at"], retry=RETRY,
                          job_id=f"coupon-{outcome['coupon']}-{outcome['anonymous_id'][:100]}")
        elif kind == IDENTIFIED:
            queue.enqueue(IDENTIFIED_JOB, outcome["site"], outcome["user_id"], outcome["traits"],
                          outcome["anonymous_id"], time.time(), retry=RETRY)

    return on_outcome


def callbacks(connection) -> dict:
    """The scorer's on_decision and on_outcome: decisions go on their own queue, which workers take first."""
    return {"on_decision": enqueuer(make_queue(connection, dispatch_keys.DECISIONS)),
            "on_outcome": outcome_enqueuer(make_queue(connection))}


def run(redis_url: str, shards: int, name: str | None = None, secret: str | None = None,
        replay_days: float = defaults.REPLAY_DAYS) -> None:
    connection = redis.Redis.from_url(redis_url)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    checkpointer = checkpoint.Checkpointer(connection, checkpoint.signing_key(secret)) if secret else None
    if checkpointer is None:
        log.warning("no HANDRAIL_MODEL_SECRET or HANDRAIL_ADMIN_TOKEN: no model is taken from the learner, "
                    "so sessions are not scored")
    scorer = Scorer(connection, shards, name=name, checkpointer=checkpointer,
                    free=lambda skills, channel, site: agents.free(connection, skills, channel, site),
                    **callbacks(connection))
    scorer.replay_days = replay_days  # sessions kept for `rules replay` (scorer.recording)
    # The outreach rules run on their own schedule, each run queueing the next: this starts the chain (or
    # finds the next run queued already).
    outreach.schedule(connection, outreach.in_force(connection).settings.outreach_every)
    if not agents.on_shift(connection):
        log.warning("no agent is on shift: chat invitations and calls wait until one is available "
                    "(`handrail agents add NAME --skills chat` and `handrail agents status NAME available`)")
    log.info("scorer %s consuming %d stream shards; model has learned %d examples",
             scorer.name, shards, scorer.model.learned)
    quiet_collector()
    scorer.run(stop)
