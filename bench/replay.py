"""The replay benchmark: recorded sessions replayed per minute through a draft of the rules.

    python -m bench.replay            # or `python -m bench`, which runs every benchmark

One run starts an embedded Redis (AOF on, as `handrail run` has it), installs the repository's
rules.yaml, and records a realistic population the way production does: the simulated shoppers of
demo/simulator.py (smooth buyers, browsers, price checkers, returning customers, shoppers stuck at
payment, on a form field, lingering), their messages written to the event streams and consumed by
a real `scorer.consumer.Scorer`, which records each session as it applies it. The recordings are
then copied under other session keys (--copies) to make a larger population of the same sessions.

Then, in the same run, side by side:
- the baseline: just reading every recording (the index, LRANGE in pipelines, JSON parsing), on
  one core: what any replay must pay;
- `scorer.replay.run` of rules.yaml over all of them on one core, then on every core.

The figure is recorded sessions replayed per minute of wall time. Target: at least 50,000 on the
2-core development machine. Writes var/bench/replay.json.
"""

import argparse
import json
import os
import random
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import orjson
import redis as redis_py

from bench.collector import machine
from bench.load import ROOT
from bench.scorer import fill, run_scorer
from demo.simulator import population
from handrail.embedded_redis import EmbeddedRedis
from rules import store
from rules.document import compile_text
from scorer import keys, recording, replay
from tracker import stream

OUTPUT = ROOT / "var" / "bench" / "replay.json"
SHARDS = 4
TARGET = 50_000  # recorded sessions replayed per minute
ARRIVALS = 15 * 60  # seconds over which the simulated shoppers arrive
LATER = 3 * 3600 * 1000  # ms after now the replay is run as if: every visit is over by then


def messages(shoppers: int, seed: int) -> list[dict]:
    """Every simulated shopper's messages as the collector stores them, in the order they arrive.
    They arrive over the last 20 minutes (some a little later), as a live scorer sees them: older
    ones would have the scorer end each visit between its messages (it runs the session deadlines
    on the wall clock)."""
    start = int(time.time() * 1000) - 20 * 60 * 1000
    events = [dict(message, receivedAt=at)
              for shopper in population(shoppers, seed, rate=shoppers / ARRIVALS, start_ms=start)
              for at, message in shopper.messages()]
    events.sort(key=lambda event: event["receivedAt"])
    return events


def copy_recordings(redis, copies: int) -> int:
    """Each recorded session copied ``copies`` times under new session keys; how many there are now."""
    found = replay.find(redis, 0, SHARDS)
    pipe = redis.pipeline(transaction=False)
    for n in range(1, copies):
        for session_key, started in found:
            twin = f"{session_key}~{n}"
            pipe.copy(keys.recording(session_key, started), keys.recording(twin, started))
            pipe.zadd(keys.recorded(stream.shard_of(twin, SHARDS)), {recording.member(twin, started): started})
        pipe.execute()
    return replay.count(redis, 0, SHARDS)


def read_all(redis) -> dict:
    """The baseline: every recording found, read and parsed, and nothing else."""
    wall = time.perf_counter()
    found, items = replay.find(redis, 0, SHARDS), 0
    for start in range(0, len(found), replay.CHUNK):
        pipe = redis.pipeline(transaction=False)
        for session_key, started in found[start:start + replay.CHUNK]:
            pipe.lrange(keys.recording(session_key, started), 0, -1)
        for raw in pipe.execute():
            items += len([orjson.loads(item) for item in raw])
    wall = time.perf_counter() - wall
    return {"sessions": len(found), "items": items, "wall_seconds": round(wall, 3),
            "sessions_per_minute": round(len(found) / wall * 60)}


def run_replay(redis, ruleset, workers: int) -> dict:
    wall = time.perf_counter()
    result = replay.run(redis, ruleset, 0, SHARDS, agents_on_shift=4, workers=workers,
                        until=int(time.time() * 1000) + LATER)
    wall = time.perf_counter() - wall
    return {"workers": workers, "sessions": result["sessions"], "wall_seconds": round(wall, 3),
            "sessions_per_minute": round(result["sessions"] / wall * 60),
            "fired": {rule["id"]: rule["fired"] for rule in result["rules"]},
            "outcomes": {name: result[name] for name in replay.OUTCOMES}}


def table(result: dict) -> str:
    base, one, every = result["read_only"], result["replay_one_core"], result["replay_every_core"]
    verdict = "ok" if every["sessions_per_minute"] >= TARGET else "FAIL"
    label = f"replay of rules.yaml, {every['workers']} processes"
    lines = [
        f"{'figure':<58}{'sessions/minute':>16}  target      result",
        f"{'-' * 58}{'-' * 16}  ----------  ------",
        f"{'baseline: reading and parsing the recordings, 1 core':<58}{base['sessions_per_minute']:>16,}",
        f"{'replay of rules.yaml, 1 core':<58}{one['sessions_per_minute']:>16,}",
        f"{label:<58}{every['sessions_per_minute']:>16,}"
        f"  >= {TARGET:,}  {verdict}",
        "",
        f"{every['sessions']:,} recorded sessions ({result['shoppers']:,} simulated shoppers x {result['copies']}), "
        f"{base['items']:,} recorded items; recorded by the scorer at "
        f"{result['recording']['events_per_core_second']:,} "
        f"events per core-second",
        f"fired: {', '.join(f'{rule} {n}' for rule, n in every['fired'].items())}; outcomes: "
        + ", ".join(f"{name} {n}" for name, n in every["outcomes"].items()),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.replay", description=__doc__.split("\n\n")[0])
    parser.add_argument("--shoppers", type=int, default=4000, help="simulated shoppers recorded by the scorer")
    parser.add_argument("--copies", type=int, default=5, help="times the recorded population is replayed over")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    random.seed(args.seed)
    events = messages(args.shoppers, args.seed)
    text = (ROOT / "rules.yaml").read_text()
    with tempfile.TemporaryDirectory(prefix="hr-bench-") as data:
        server = EmbeddedRedis(Path(data)).start()
        try:
            redis = redis_py.Redis.from_url(server.url)
            store.save(redis, text, "bench")
            fill(redis, events)
            result = {"recording": run_scorer(redis, events, server.process.pid)}
            copy_recordings(redis, args.copies)
            result["read_only"] = read_all(redis)
            result["replay_one_core"] = run_replay(redis, compile_text(text), 1)
            result["replay_every_core"] = run_replay(redis, compile_text(text), args.workers)
        finally:
            server.stop()
    result.update(shoppers=args.shoppers, copies=args.copies, target=TARGET, machine=machine(),
                  at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                  command="python -m bench.replay " + " ".join(sys.argv[1:] if argv is None else argv))
    expected = result["read_only"]["sessions"]
    ok = (result["replay_every_core"]["sessions"] == expected == result["replay_one_core"]["sessions"]
          and result["replay_every_core"]["fired"] == result["replay_one_core"]["fired"]
          and result["replay_every_core"]["sessions_per_minute"] >= TARGET)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(table(result))
    if not ok:
        print("check failed: fewer sessions replayed than recorded, one core and every core disagree, "
              "or the target is not met")
    print(f"\nfigures written to {args.output}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
