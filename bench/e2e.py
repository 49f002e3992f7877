"""End to end under load: simulated shoppers through the collector, the scorer and the RQ worker, to the task
an agent sees.

    python -m bench.e2e [--seconds 300] [--shoppers 1000] [--rate 2000] [--appendfsync everysec]

Each phase starts the service's processes afresh (bench/parts.py: embedded Redis with AOF, gunicorn as the
Procfile's `web`, the scorer, the RQ worker), installs one rule (at payment, two Payment Failed within 5
minutes: a chat), and enough available agents that a chat is never refused for want of one. Then
bench/shoppers.py keeps ``--shoppers`` simulated shoppers on the site at ``--rate`` events a second, a
share ``--stuck`` of them stuck at payment, and notes when each stuck shopper's second Payment Failed was
answered 200 and when its task was first listed by ``GET /api/tasks``.

Phases: the baseline (the same pipeline at ``--baseline-rate`` events a second, half its shoppers
stuck so that it has samples, and the /healthz round trip), then the load. After each, once the
streams are consumed and the dispatch queue is empty: events accepted (200 from the collector, counted
by the driver) against events applied (the sum of the sessions' ``events``, the scorer's own count:
what `GET /api/sessions/<id>` shows); they must be equal. Also the resident memory of each process
(psutil; peak and at the end) and Redis's used_memory per session held. Target: p99 from the trigger's
arrival to the task listed at most 200 ms. Prints a table, writes var/bench/e2e.json; exit status 1
when a check fails.
"""

import argparse
import json
import os
import secrets
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

import psutil
from rq.registry import StartedJobRegistry

from bench.collector import limits_off, machine
from bench.load import ROOT
from bench.openloop import percentile
from bench.parts import WEB, Parts
from bench.processes import cpu_seconds, machine_cpu_seconds
from bench.shoppers import RULES, Plan, drive
from dispatch import agents
from dispatch import keys as dispatch_keys
from handrail.scorer_process import make_queue
from rules import store as rules_store
from scorer import keys as scorer_keys
from tracker import defaults as tracker_defaults
from tracker import sites, stream

OUTPUT = ROOT / "var" / "bench" / "e2e.json"
TARGET_P99 = 200.0  # ms from the trigger's arrival to the task listed
AGENTS, AGENT_CHATS = 100, 10  # available agents and the chats each may hold: room for every task of a run
HEALTHZ = 50  # /healthz round trips of the baseline
DRAIN_TIMEOUT = 180.0  # seconds the pipeline gets to consume what was accepted
SAMPLE_EVERY = 1.0  # seconds between two samples of the processes' memory


def prepare(parts: Parts) -> str:
    """The rule, the agents and a site; its write key."""
    with parts.client() as redis:
        rules_store.save(redis, RULES, "bench")
        for n in range(AGENTS):
            agents.add(redis, f"bench-agent-{n}", ["chat"], max_chats=AGENT_CHATS, status="available")
        return sites.create(redis, "bench", [])["write_key"]


def healthz(url: str, count: int = HEALTHZ) -> dict:
    times = []
    for _ in range(count):
        began = time.perf_counter()
        with urllib.request.urlopen(url + "/healthz", timeout=10) as answer:
            answer.read()
        times.append((time.perf_counter() - began) * 1000)
    times.sort()
    return {"p50": round(percentile(times, 50), 2), "p99": round(percentile(times, 99), 2), "n": count}


class Memory:
    """Samples the resident memory of each role's processes every second: peak and last, in MB."""

    def __init__(self, parts: Parts):
        self.parts = parts
        self.peak: dict[str, float] = {}
        self.last: dict[str, float] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="memory", daemon=True)

    def _roles(self) -> dict[str, list[int]]:
        pids = self.parts.pids()
        roles = {"web master": pids["web"][:1], "redis": pids["redis"], "scorer": pids["scorer"][:1],
                 "learner": pids["learner"][:1], "rq worker": pids["worker"][:1]}
        for n, pid in enumerate(pids["web"][1:], 1):
            roles[f"web worker {n}"] = [pid]
        return roles

    def sample(self) -> None:
        for role, pids in self._roles().items():
            total = 0
            for pid in pids:
                try:
                    total += psutil.Process(pid).memory_info().rss
                except psutil.NoSuchProcess:
                    continue
            self.last[role] = round(total / 2 ** 20, 1)
            self.peak[role] = max(self.peak.get(role, 0.0), self.last[role])

    def _run(self) -> None:
        while not self.stop.wait(SAMPLE_EVERY):
            self.sample()

    def __enter__(self) -> "Memory":
        self.sample()
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()
        self.sample()


def consumed(redis, shards: int) -> bool:
    """Every stream entry delivered to the scorer's group and acknowledged, and the dispatch queue empty."""
    for key in stream.all_keys(shards):
        if not redis.exists(key):
            continue
        last = redis.xinfo_stream(key)["last-generated-id"]
        groups = {g["name"].decode() if isinstance(g["name"], bytes) else g["name"]: g
                  for g in redis.xinfo_groups(key)}
        group = groups.get(scorer_keys.GROUP)
        if group is None or group["pending"] or group["last-delivered-id"] != last:
            return False
    queues = [make_queue(redis, name) for name in dispatch_keys.QUEUES]
    return all(queue.count == 0 and StartedJobRegistry(queue=queue).count == 0 for queue in queues)


def applied_events(redis) -> tuple[int, int]:
    """The sessions held and the sum of their ``events`` (messages the scorer applied to each)."""
    total = sessions = 0
    names = list(redis.scan_iter(match=scorer_keys.session("*"), count=1000))
    for first in range(0, len(names), 500):
        for raw in redis.mget(names[first:first + 500]):
            if raw:
                total += json.loads(raw)["events"]
                sessions += 1
    return sessions, total


def drain(redis, shards: int, timeout: float = DRAIN_TIMEOUT) -> tuple[float, int, int]:
    """Wait until the pipeline has consumed everything and the count of applied events holds still:
    seconds waited, sessions, events applied."""
    began = time.monotonic()
    last = None
    while time.monotonic() - began < timeout:
        if consumed(redis, shards):
            now = applied_events(redis)
            if now == last:
                return round(time.monotonic() - began, 1), *now
            last = now
        time.sleep(0.5)
    return round(time.monotonic() - began, 1), *applied_events(redis)


def phase(name: str, plan: Plan, appendfsync: str) -> dict:
    token = secrets.token_urlsafe(16)
    shards = tracker_defaults.STREAM_SHARDS
    print(f"e2e {name}: {plan.shoppers} shoppers, {plan.rate:g} events/s, {plan.seconds:g} s", file=sys.stderr,
          flush=True)
    with tempfile.TemporaryDirectory(prefix="hr-e2e-") as tmp, \
            Parts(Path(tmp), token, limits_off(), appendfsync) as parts:
        write_key = prepare(parts)
        redis = parts.client()
        health = healthz(parts.url)
        memory_before = redis.info("memory")["used_memory"]
        persistence_before = redis.info("persistence")
        cpu_before = {role: cpu_seconds(pids) for role, pids in parts.pids().items()}
        machine_before, own_before, load_before = machine_cpu_seconds(), time.process_time(), os.getloadavg()
        with Memory(parts) as memory:
            began = time.monotonic()
            out = drive(parts.url, write_key, plan, token, settled=lambda: consumed(redis, shards))
            waited, sessions, applied = drain(redis, shards)
            driven = time.monotonic() - began
            cpu = {role: round((cpu_seconds(pids) - cpu_before.get(role, 0.0)) / driven, 2)
                   for role, pids in parts.pids().items()}
            cpu["driver"] = round((time.process_time() - own_before) / driven, 2)
            busy = (machine_cpu_seconds()["busy"] - machine_before["busy"]) / driven
            cpu["other processes"] = round(max(0.0, busy - sum(cpu.values())), 2)
        info_memory, persistence = redis.info("memory"), redis.info("persistence")
        stored = sum(redis.xlen(key) for key in stream.all_keys(shards))
        restarts = dict(parts.restarts)
        redis.close()
    seconds = out.ended - out.started
    latency = out.latencies(after=out.started + plan.ramp)
    used = info_memory["used_memory"]
    return {
        "phase": name, "plan": vars(plan), "appendfsync": appendfsync,
        "healthz_ms": health,
        "trigger_to_task": latency,
        "stuck_shoppers": len(out.stuck), "stuck_triggered": sum(1 for v in out.stuck.values() if v is not None),
        "tasks_listed": len(out.listed), "polls": out.polls, "poll_overflows": out.poll_overflows,
        "shoppers": out.shoppers,
        "events": {"sent": out.sent_events, "accepted": out.accepted, "applied": applied, "lost": out.lost,
                   "in_streams": stored, "accepted_per_s": round(out.accepted / seconds, 1),
                   "equal": out.accepted == applied},
        "requests": {"answered_200": out.requests, "resent": out.resent, "statuses": out.statuses,
                     "post_ms": {"p50": round(percentile(sorted(out.post_ms), 50), 1),
                                 "p99": round(percentile(sorted(out.post_ms), 99), 1)}},
        "drain_s": waited,
        "memory_mb": {"peak": memory.peak, "end": memory.last},
        "redis": {"used_memory_mb": round(used / 2 ** 20, 1),
                  "used_memory_before_mb": round(memory_before / 2 ** 20, 1),
                  "sessions_held": sessions,
                  "bytes_per_session": round((used - memory_before) / max(sessions, 1)),
                  "aof_delayed_fsync": persistence.get("aof_delayed_fsync", 0) - persistence_before.get(
                      "aof_delayed_fsync", 0),
                  "aof_rewrites": persistence.get("aof_rewrites", 0) - persistence_before.get("aof_rewrites", 0)},
        "cores": cpu,  # CPU seconds a second from the load's start to the pipeline drained
        "load_average": {"before": [round(x, 2) for x in load_before], "after": [round(x, 2) for x in os.getloadavg()]},
        "restarts": restarts,
        "seconds": round(seconds, 1),
    }


def table(result: dict) -> str:
    load, base = result["load"], result["baseline"]
    rows = [("figure", "load", "baseline", "target", "result")]

    def row(figure, pick, target="", passes=None, fmt="{:,.1f}"):
        verdict = "" if passes is None else "pass" if passes(pick(load)) else "FAIL"
        rows.append((figure, fmt.format(pick(load)), fmt.format(pick(base)), target, verdict))

    row("trigger -> task listed by GET /api/tasks, p50 (ms)", lambda r: r["trigger_to_task"]["listed_ms"]["p50"])
    row("trigger -> task listed by GET /api/tasks, p99 (ms)", lambda r: r["trigger_to_task"]["listed_ms"]["p99"],
        f"<= {TARGET_P99:g}", lambda v: v <= TARGET_P99)
    row("trigger -> task created_at, p50 (ms)", lambda r: r["trigger_to_task"]["created_ms"]["p50"])
    row("trigger -> task created_at, p99 (ms)", lambda r: r["trigger_to_task"]["created_ms"]["p99"])
    row("latency samples (stuck shoppers triggered after the ramp)", lambda r: r["trigger_to_task"]["samples"],
        fmt="{:,}")
    row("stuck shoppers triggered without a task listed", lambda r: r["trigger_to_task"]["no_task"], "0",
        lambda v: v == 0, fmt="{:,}")
    row("events accepted (200, counted by the driver)", lambda r: r["events"]["accepted"], fmt="{:,}")
    row("events applied (sum of the sessions' events)", lambda r: r["events"]["applied"], "= accepted",
        lambda v: load["events"]["equal"], fmt="{:,}")
    row("events accepted per second", lambda r: r["events"]["accepted_per_s"])
    row("POST /v1/batch, due to 200, p50 (ms)", lambda r: r["requests"]["post_ms"]["p50"])
    row("POST /v1/batch, due to 200, p99 (ms)", lambda r: r["requests"]["post_ms"]["p99"])
    row("GET /healthz round trip before the load, p50 (ms)", lambda r: r["healthz_ms"]["p50"], fmt="{:,.2f}")
    row("GET /healthz round trip before the load, p99 (ms)", lambda r: r["healthz_ms"]["p99"], fmt="{:,.2f}")
    for role in load["memory_mb"]["peak"]:
        row(f"RSS {role}, peak (MB)", lambda r, role=role: r["memory_mb"]["peak"].get(role, float("nan")))
    row("Redis used_memory at the end (MB)", lambda r: r["redis"]["used_memory_mb"])
    row("sessions held in Redis", lambda r: r["redis"]["sessions_held"], fmt="{:,}")
    row("Redis used_memory added per session held (bytes)", lambda r: r["redis"]["bytes_per_session"], fmt="{:,}")
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = ["  ".join(c.ljust(w) if i in (0, 3, 4) else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()
             for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    m = result["machine"]
    lines += ["", f"{m['nproc']} x {m['cpu_model']}; load: {load['plan']['shoppers']:,} shoppers at "
                  f"{load['plan']['rate']:,g} events/s for {load['seconds']:g} s ({load['plan']['stuck']:.0%} stuck); "
                  f"baseline: {base['plan']['shoppers']:,} at {base['plan']['rate']:,g}/s for {base['seconds']:g} s "
                  f"({base['plan']['stuck']:.0%} stuck); Redis appendfsync {load['appendfsync']}",
              "cores used from the load's start until drained: "
              + ", ".join(f"{k} {v}" for k, v in load["cores"].items())
              + f"; load average {load['load_average']['before'][0]} before, {load['load_average']['after'][0]} after",
              f"load: {load['requests']['resent']} POSTs resent ({load['requests']['statuses']}), "
              f"{load['events']['lost']} events lost, {load['poll_overflows']} polls that may have missed a task, "
              f"AOF rewrites {load['redis']['aof_rewrites']}, delayed AOF writes {load['redis']['aof_delayed_fsync']}, "
              f"drained in {load['drain_s']} s",
              f"gunicorn: {WEB}"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.e2e", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=300.0, help="seconds of load")
    parser.add_argument("--shoppers", type=int, default=1000, help="shoppers on the site at once")
    parser.add_argument("--rate", type=float, default=2000.0, help="events a second")
    parser.add_argument("--stuck", type=float, default=0.05, help="share of shoppers stuck at payment")
    parser.add_argument("--baseline-rate", type=float, default=50.0, help="events a second of the baseline")
    parser.add_argument("--baseline-seconds", type=float, default=60.0)
    parser.add_argument("--appendfsync", choices=("everysec", "always"), default="everysec",
                        help="Redis's AOF fsync policy during both phases")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    per_shopper = args.rate / args.shoppers  # events a second each, the same in both phases
    baseline = Plan(shoppers=max(1, round(args.baseline_rate / per_shopper)), rate=args.baseline_rate,
                    seconds=args.baseline_seconds, stuck=0.5, seed=args.seed)
    load = Plan(shoppers=args.shoppers, rate=args.rate, seconds=args.seconds, stuck=args.stuck, seed=args.seed)
    result = {"benchmark": "e2e", "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "command": "python -m bench.e2e " + " ".join(sys.argv[1:] if argv is None else argv),
              "machine": machine(), "target_p99_ms": TARGET_P99,
              "baseline": phase("baseline", baseline, args.appendfsync),
              "load": phase("load", load, args.appendfsync)}
    checks = {name: result[name]["events"]["equal"] and result[name]["events"]["lost"] == 0
              for name in ("baseline", "load")}
    result["checks_ok"] = all(checks.values())
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(table(result))
    if not result["checks_ok"]:
        print(f"check failed: events accepted and applied differ, or events were lost: {checks}")
    print(f"\nfigures written to {args.output}")
    return 0 if result["checks_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
