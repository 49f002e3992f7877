"""The scorer benchmark: events applied, scored and run through the rules, per core.

    python -m bench.scorer            # or `make bench`, which runs every benchmark

One run starts an embedded Redis (AOF on, as `handrail run` has it), installs the repository's
rules.yaml, fills the event streams with the events of many concurrent shoppers (not measured),
then lets one in-process `scorer.consumer.Scorer` consume them all, as the scorer process does:
read a batch, load the batch's sessions with one MGET, update their features, score them, run the
rules and the contact policy, write the sessions back in one pipeline. The figure is events per
second of the scorer's own CPU time (one process: one core at most). Redis's CPU is shown apart.
The scorer does not train: the sessions' outcomes it hands on are then learned by a `scorer.learner.Learner`
(the learner process's loop), whose CPU is shown apart too, and with the scorer's as a figure of both.

The same events are then consumed again, on a fresh server, by a scorer that does not record sessions for
`rules replay` (``handrail scorer --replay-days 0``): what the recording costs, apart.

Beside it, in the same run: River's default pipeline alone (StandardScaler | LogisticRegression)
scoring (predict_proba_one) and then learning (learn_one) the same number of feature dicts, with
nothing else around it: the cost of the model by itself.

Then, with ``--paced RATE`` (2,000 by default; 0: not run), the same scorer under live load: a thread of
the benchmark appends other shoppers' events at RATE a second, stamped as they arrive, for ``--seconds``,
while the scorer runs its loop as the scorer process does (a read blocks until entries come). Its reads
are then small, and the figure is the scorer thread's CPU per event at that load, not its capacity.

Target: at least 20,000 events per second per core. Writes var/bench/scorer.json.
"""

import argparse
import gc
import json
import random
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import redis as redis_py
from river import linear_model, preprocessing

from bench.collector import machine
from bench.load import ROOT
from bench.processes import cpu_seconds
from handrail.embedded_redis import EmbeddedRedis
from handrail.scorer_process import quiet_collector
from rules import store
from scorer import checkpoint, keys, learner, model, session
from scorer.consumer import Scorer
from tracker import stream

OUTPUT = ROOT / "var" / "bench" / "scorer.json"
SHARDS = 4
TARGET = 20_000  # events per second per core
PRODUCTS = [(f"sku-{n}", f"Product {n}", round(5 + n * 7.5, 2)) for n in range(40)]


def shopper(rng: random.Random, anonymous_id: str, start: int) -> list[dict]:
    """One shopper's events: browsing, a cart, the checkout steps, some friction, maybe an order."""
    events, at = [], start

    def add(kind: str, event: str | None = None, path: str = "/", **properties) -> None:
        nonlocal at
        at += rng.randint(500, 8000)
        message = {"type": kind, "anonymousId": anonymous_id, "messageId": f"{anonymous_id}-{len(events)}",
                   "receivedAt": at, "properties": properties,
                   "context": {"page": {"path": path, "title": path}, "timezone": "Europe/Berlin",
                               "userAgent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0"}}
        if event:
            message["event"] = event
        events.append(message)

    for product_id, name, price in rng.sample(PRODUCTS, rng.randint(2, 6)):
        add("page", path=f"/p/{product_id}")
        add("track", "Product Viewed", f"/p/{product_id}", product_id=product_id, name=name, price=price)
        if rng.random() < 0.5:
            add("track", "Product Added", f"/p/{product_id}", product_id=product_id, name=name, price=price)
    add("track", "Heartbeat", "/cart", seconds=15)
    add("page", path="/cart")
    add("track", "Checkout Started", "/cart")
    for step in ("shipping", "payment"):
        add("page", path=f"/checkout/{step}")
        add("track", "Checkout Step Viewed", f"/checkout/{step}", step_name=step)
        for _ in range(rng.choice((0, 0, 1, 3))):
            add("track", "Form Error", f"/checkout/{step}", field="postcode", message="Enter a valid postcode")
    for _ in range(rng.choice((0, 1, 2))):
        add("track", "Payment Failed", "/checkout/payment", reason="card_declined")
    if rng.random() < 0.6:
        add("track", "Order Completed", "/checkout/payment", revenue=99.0)
    return events


def traffic(shoppers: int, seed: int) -> list[dict]:
    """Every shopper's events, interleaved in time as concurrent shoppers' are."""
    rng = random.Random(seed)
    now = int(time.time() * 1000) - 20 * 60 * 1000  # recent: sessions are live, not ended
    events = []
    for n in range(shoppers):
        events += shopper(rng, f"bench-{seed}-{n}", now + rng.randint(0, 5 * 60 * 1000))
    events.sort(key=lambda event: event["receivedAt"])
    return events


def trained(rng: random.Random) -> model.AbandonModel:
    """A model past MIN_LEARNED, so that every session is scored."""
    learner = model.AbandonModel()
    for _ in range(model.MIN_LEARNED * 4):
        learner.learn_values([rng.random() for _ in model.NAMES], rng.random() < 0.5)
    return learner


def bench_scorer(redis, name: str, on_decision) -> Scorer:
    """A scorer as the scorer process makes one, with a model that scores every session."""
    scorer = Scorer(redis, SHARDS, on_decision=on_decision, name=name)
    scorer.model = trained(random.Random(1))
    scorer.ensure_groups()
    scorer.refresh_rules()
    return scorer


@contextmanager
def collector_quieted():
    """As handrail.scorer_process does before its loop: what exists now (here also the generated traffic, which
    the scorer process never holds) stays out of the garbage collector's passes, which come less often."""
    threshold = gc.get_threshold()
    quiet_collector()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


@contextmanager
def server_with_rules():
    """An embedded Redis (AOF on) with the repository's rules.yaml in force, and a client of it."""
    with tempfile.TemporaryDirectory(prefix="hr-bench-") as data:
        server = EmbeddedRedis(Path(data)).start()
        try:
            redis = redis_py.Redis.from_url(server.url)
            store.save(redis, (ROOT / "rules.yaml").read_text(), "bench")
            yield server, redis
        finally:
            server.stop()


def fill(redis, events: list[dict]) -> None:
    """The event streams, filled with ``events`` as the collector appends them (not measured)."""
    for start in range(0, len(events), 500):
        stream.append(redis, "bench-site", events[start:start + 500], SHARDS)


def run_scorer(redis, events: list[dict], server_pid: int, replay_days: float | None = None) -> dict:
    """``replay_days``: 0, sessions not recorded for `rules replay` (`handrail scorer --replay-days 0`); None, the
    scorer's default."""
    decisions = []
    scorer = bench_scorer(redis, "bench", decisions.append)
    if replay_days is not None:
        scorer.replay_days = replay_days
    with collector_quieted():
        redis_cpu, cpu, wall = cpu_seconds([server_pid]), time.process_time(), time.perf_counter()
        applied = 0
        while applied < len(events):
            done = scorer.step(block=10)
            if not done and applied:
                break
            applied += done
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    redis_cpu = cpu_seconds([server_pid]) - redis_cpu
    return {"events": applied, "cpu_seconds": round(cpu, 3), "wall_seconds": round(wall, 3),
            "redis_cpu_seconds": round(redis_cpu, 3), "events_per_core_second": round(applied / cpu),
            "decisions": len(decisions)}


def run_learner(redis) -> dict:
    """The learner's loop over what the scorer handed on, until it is all learned and published."""
    learner.ensure_group(redis)
    settled = redis.xlen(keys.EXAMPLES)
    trainer = learner.Learner(redis, checkpoint.Checkpointer(redis, checkpoint.signing_key("bench")), name="bench")
    with collector_quieted():
        cpu, learned = time.process_time(), 0
        while found := trainer.step(block=10):
            learned += found
        trainer.publish()
        cpu = time.process_time() - cpu
    return {"sessions": settled, "snapshots": learned, "cpu_seconds": round(cpu, 3),
            "snapshots_per_core_second": round(learned / cpu) if cpu else 0}


def run_paced(url: str, events: list[dict], rate: float, seconds: float) -> dict:
    """The scorer's loop while ``events`` are appended at ``rate`` a second, for ``seconds``."""
    scorer = bench_scorer(redis_py.Redis.from_url(url), "bench-paced", lambda decision: None)
    fed, stop = [0], threading.Event()

    def feed() -> None:
        writer = redis_py.Redis.from_url(url)
        start = time.perf_counter()
        while fed[0] < len(events) and not stop.is_set():
            due = min(len(events), int((time.perf_counter() - start) * rate))
            if due > fed[0]:
                arrived = int(time.time() * 1000)
                chunk = [dict(event, receivedAt=arrived) for event in events[fed[0]:due]]
                stream.append(writer, "bench-site", chunk, SHARDS)
                fed[0] = due
            time.sleep(0.002)

    with collector_quieted():
        feeder = threading.Thread(target=feed, daemon=True)
        feeder.start()
        cpu, wall, applied, steps = time.thread_time(), time.perf_counter(), 0, 0
        while time.perf_counter() - wall < seconds:
            applied += scorer.step()
            steps += 1
        cpu = time.thread_time() - cpu  # the scorer's thread alone, not the feeder's
        stop.set()
        feeder.join()
    return {"rate": rate, "seconds": seconds, "fed": fed[0], "events": applied, "steps": steps,
            "entries_per_step": round(applied / max(steps, 1), 1), "cpu_seconds": round(cpu, 3),
            "events_per_core_second": round(applied / cpu) if cpu else 0}


def run_river(events: list[dict]) -> dict:
    """River's default pipeline, alone, on one feature dict per event."""
    rng = random.Random(2)
    xs = [model.features(session.new("x", "s", 0), rng.randint(0, 600_000)) for _ in range(200)]
    pipeline = preprocessing.StandardScaler() | linear_model.LogisticRegression()
    for x in xs:
        pipeline.learn_one(x, rng.random() < 0.5)
    n = len(events)
    cpu = time.process_time()
    for i in range(n):
        pipeline.predict_proba_one(xs[i % len(xs)])
    predict = time.process_time() - cpu
    cpu = time.process_time()
    for i in range(n):
        pipeline.learn_one(xs[i % len(xs)], i % 2 == 0)
    learn = time.process_time() - cpu
    return {"events": n, "predict_per_core_second": round(n / predict), "learn_per_core_second": round(n / learn)}


def table(result: dict) -> str:
    scorer, river = result["scorer"], result["river"]
    verdict = "ok" if scorer["events_per_core_second"] >= TARGET else "FAIL"
    lines = [
        f"{'figure':<64}{'per core-second':>16}  target      result",
        f"{'-' * 64}{'-' * 16}  ----------  ------",
        f"{'scorer: events applied, scored and run through the rules':<64}"
        f"{scorer['events_per_core_second']:>16,}  >= {TARGET:,}  {verdict}",
        f"{'scorer and learner together (their CPU summed)':<64}"
        f"{result['scorer_and_learner_events_per_core_second']:>16,}",
        f"{'scorer, sessions not recorded for replay (--replay-days 0)':<64}"
        f"{result['unrecorded']['events_per_core_second']:>16,}",
        f"{'River StandardScaler | LogisticRegression alone: predict_proba_one':<64}"
        f"{river['predict_per_core_second']:>16,}",
        f"{'River StandardScaler | LogisticRegression alone: learn_one':<64}{river['learn_per_core_second']:>16,}",
        "",
        f"{scorer['events']:,} events of {result['shoppers']:,} shoppers in {scorer['wall_seconds']} s "
        f"({scorer['cpu_seconds']} s of scorer CPU, {scorer['redis_cpu_seconds']} s of Redis CPU), "
        f"{scorer['decisions']} decisions",
        f"learner: {result['learner']['snapshots']:,} snapshots of {result['learner']['sessions']:,} settled sessions "
        f"learned in {result['learner']['cpu_seconds']} s of CPU "
        f"({result['learner']['snapshots_per_core_second']:,} a core-second)",
    ]
    paced = result.get("paced")
    if paced:
        figure = f"scorer under live load, {paced['rate']:,.0f} events/s arriving"
        lines[7:7] = [f"{figure:<64}{paced['events_per_core_second']:>16,}"]
        lines.append(f"live load: {paced['events']:,} of {paced['fed']:,} events arrived in {paced['seconds']:g} s "
                     f"applied in {paced['steps']:,} reads, {paced['entries_per_step']} entries a read, "
                     f"{paced['cpu_seconds']} s of scorer CPU")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scorer", description=__doc__.split("\n\n")[0])
    parser.add_argument("--shoppers", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--paced", type=float, default=2000, metavar="RATE",
                        help="events a second for the live-load run (0: none)")
    parser.add_argument("--seconds", type=float, default=20, help="length of the live-load run")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    events = traffic(args.shoppers, args.seed)
    with server_with_rules() as (server, redis):
        fill(redis, events)
        result = {"scorer": run_scorer(redis, events, server.process.pid)}
        result["learner"] = run_learner(redis)
        both = result["scorer"]["cpu_seconds"] + result["learner"]["cpu_seconds"]
        result["scorer_and_learner_events_per_core_second"] = round(result["scorer"]["events"] / both)
    with server_with_rules() as (server, redis):  # the same events again, on a fresh server, not recorded
        fill(redis, events)
        result["unrecorded"] = run_scorer(redis, events, server.process.pid, replay_days=0)
    if args.paced > 0:  # other shoppers (another seed) on a fresh server: no session of the run above
        with server_with_rules() as (server, _):
            # About 20 events a shopper: enough of them for every arrival of the run, and some.
            live = traffic(max(args.shoppers, int(args.paced * args.seconds / 15)), args.seed + 1)
            result["paced"] = run_paced(server.url, live, args.paced, args.seconds)
    result.update(river=run_river(events), shoppers=args.shoppers, target=TARGET, machine=machine(),
                  at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                  command="python -m bench.scorer " + " ".join(sys.argv[1:] if argv is None else argv))
    ok = result["scorer"]["events"] == result["unrecorded"]["events"] == len(events)
    paced = result.get("paced")
    if paced and paced["fed"] - paced["events"] > args.paced:  # more than a second's arrivals left unread
        ok = False
        print(f"check failed: the scorer fell behind the live load: {paced['events']} of {paced['fed']} applied")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(table(result))
    if not ok:
        print(f"check failed: {result['scorer']['events']} of {len(events)} events applied")
    print(f"\nfigures written to {args.output}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
