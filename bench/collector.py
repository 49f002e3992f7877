"""The collector benchmark: tracker's /v1/track and /v1/batch under gunicorn, beside a bare Flask app.

    python -m bench.collector            # or `make bench`, which runs every benchmark

One run starts an embedded Redis and creates a site, then, round after round, serves
`handrail.app:create_app()` and then `bench.bare:create_app()` with the same gunicorn settings, one
at a time so that they never compete for the cores, and measures on each:

- single-message POST /v1/track, closed loop (wrk): requests/s; target: the collector at least
  0.8 times the bare endpoint;
- batches of 50 messages to POST /v1/batch, closed loop (wrk): messages/s; target: 25,000;
- single-message requests at a constant 1,000 requests/s, open loop (bench.openloop): p50 and p99
  latency from each request's due time; target: p99 at most 10 ms.

A figure is the median over the rounds. After each collector run the entries in the event streams
are counted: they must equal the messages the collector answered 200 for (a run that loses events
is not a result). Prints a table, writes the figures, the machine, the settings and the commands to
var/bench/collector.json, and stops everything it started, on Ctrl-C too. Exit status 1 when a
check fails; a missed target is a figure, not an error.
"""

import argparse
import base64
import hashlib
import json
import os
import platform
import secrets
import signal
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import redis as redis_py

from bench.load import ROOT, Load
from bench.processes import Gunicorn, flags
from handrail import config as app_config
from handrail.embedded_redis import EmbeddedRedis
from tracker import defaults as tracker_defaults
from tracker import sites, stream

OUTPUT = ROOT / "var" / "bench" / "collector.json"
APPS = {"collector": "handrail.app:create_app()", "bare": "bench.bare:create_app()"}
BATCH = 50  # messages per /v1/batch request
RATE = 1000.0  # requests per second of the latency run
TARGET_RATIO = 0.8  # collector single-message rate / bare rate, at least
TARGET_BATCH = 25_000  # messages per second in batches of BATCH, at least
TARGET_P99 = 10.0  # ms at RATE, at most
SETTLE = 0.3  # seconds the stream count must hold still after a generator stops: the server is done
BUSY = 0.3  # cores taken by processes outside the run above which the table warns


def limits_off() -> dict:
    """The environment that turns the collector's rate limits off (0: no limit): the whole load comes
    from one IP and one site, far past what the limits allow one shopper's page or one shop."""
    return {f"HANDRAIL_{name}": "0" for name in app_config.DEFAULTS if name.startswith("RATE_LIMIT")}


def machine() -> dict:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    models = [line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")]
    memory = next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))
    return {
        "nproc": os.cpu_count(),
        "cpu_model": models[0] if models else platform.processor(),
        "memory_gib": round(int(memory) / 1024 ** 2, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def code_fingerprint() -> str:
    """A digest of the collector's source as measured, to tell runs of different code apart."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "tracker").glob("*.py")) + [ROOT / "handrail" / "app.py", ROOT / "handrail" / "config.py"]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def stored_messages(redis, shards: int) -> int:
    return sum(redis.xlen(key) for key in stream.all_keys(shards))


class StreamCheck:
    """Counts the event streams after each collector run, then empties them for the next."""

    def __init__(self, redis, shards: int):
        self.redis, self.shards = redis, shards
        self.results: list[dict] = []

    def settle(self) -> int:
        """The count once requests still inside the server (read before wrk's cutoff) are done."""
        count = stored_messages(self.redis, self.shards)
        while True:
            time.sleep(SETTLE)
            now = stored_messages(self.redis, self.shards)
            if now == count:
                return count
            count = now

    def redis_state(self, before: dict | None = None) -> dict:
        """Keys, memory and AOF of the server; given the state before a run, whether the AOF was
        rewritten meanwhile (a fork and a copy of the data set, competing for the cores)."""
        persistence, memory = self.redis.info("persistence"), self.redis.info("memory")
        state = {"keys": self.redis.dbsize(), "used_memory_mb": round(memory["used_memory"] / 2 ** 20, 1),
                 "aof_base_size": persistence.get("aof_base_size"),
                 "aof_rewriting": bool(persistence.get("aof_rewrite_in_progress"))}
        if before is not None:
            state["aof_rewritten"] = state["aof_rewriting"] or state["aof_base_size"] != before["aof_base_size"]
        return state

    def clear(self) -> None:
        self.settle()
        self.redis.delete(*stream.all_keys(self.shards))

    def check(self, name: str, run: dict) -> None:
        """Stored = answered 200, plus at most the requests wrk had sent but not seen answered when it stopped."""
        stored = self.settle()
        accepted = run["accepted_messages"]
        rejected = run.get("non_200", 0) + sum(n for status, n in run.get("status", {}).items() if status != "200")
        extra = stored - accepted
        ok = rejected == 0 and 0 <= extra <= run["in_flight_bound"] and extra % run["per_request"] == 0
        self.results.append({"run": name, "accepted_messages": accepted, "stored_messages": stored,
                             "unanswered_at_cutoff": extra, "rejected_requests": rejected, "ok": ok})
        self.redis.delete(*stream.all_keys(self.shards))


class CollectorBench:
    def __init__(self, args):
        self.args = args
        self.settings = {"worker_class": args.worker_class, "workers": args.workers, "threads": args.threads,
                         "reuse_port": args.reuse_port}

    def measure(self, app: str, env: dict, redis_pid: int, check: StreamCheck | None, round_: int) -> dict:
        """The three runs against one app; with `check`, each followed by the stream count."""
        a = self.args
        with Gunicorn(app, self.settings, env) as server:
            load = Load(server.pids, redis_pid, self.auth)
            track, batch = server.url + "/v1/track", server.url + "/v1/batch"
            load.wrk(track, 1, a.warmup, a.connections)  # warm both routes: imports, connections, caches
            load.wrk(batch, BATCH, a.warmup, a.connections)
            if check:
                check.clear()
            runs = {}
            for name, run in (
                ("single", lambda: load.wrk(track, 1, a.duration, a.connections)),
                ("batch", lambda: load.wrk(batch, BATCH, a.duration, a.connections)),
                ("latency", lambda: load.open_loop(track, a.rate, a.warmup, a.latency_duration)),
            ):
                before = check.redis_state() if check else None
                runs[name] = run()
                if check:
                    runs[name]["redis"] = check.redis_state(before)
                    check.check(f"round {round_} {name}", runs[name])
        return runs

    def run(self) -> dict:
        started = datetime.now(timezone.utc)
        self.code = code_fingerprint()
        rounds = {"collector": [], "bare": []}
        with tempfile.TemporaryDirectory(prefix="hr-bench-") as tmp, EmbeddedRedis(Path(tmp)) as embedded:
            redis = redis_py.Redis.from_url(embedded.url)
            write_key = sites.create(redis, "bench", [])["write_key"]
            self.auth = "Authorization: Basic " + base64.b64encode(f"{write_key}:".encode()).decode()
            shards = tracker_defaults.STREAM_SHARDS
            check = StreamCheck(redis, shards)
            env = dict(os.environ, REDIS_URL=embedded.url, HANDRAIL_ADMIN_TOKEN=secrets.token_urlsafe(16),
                       HANDRAIL_STREAM_SHARDS=str(shards), PYTHONUNBUFFERED="1", **limits_off())
            for round_ in range(1, self.args.rounds + 1):
                for name, app in APPS.items():
                    print(f"round {round_}/{self.args.rounds}: {name} ({app})", file=sys.stderr, flush=True)
                    rounds[name].append(self.measure(app, env, embedded.process.pid,
                                                     check if name == "collector" else None, round_))
            redis.close()
        return self.report(started, rounds, check.results)

    def report(self, started, rounds: dict, checks: list[dict]) -> dict:
        a = self.args

        def values(app, run, pick):
            return [pick(r[run]) for r in rounds[app]]

        def figure(name, run, pick, target, passes):
            c, b = values("collector", run, pick), values("bare", run, pick)
            median = statistics.median(c)
            return {"figure": name, "collector": round(median, 3), "bare": round(statistics.median(b), 3),
                    "collector_rounds": [round(x, 3) for x in c], "bare_rounds": [round(x, 3) for x in b],
                    "target": target, "pass": passes(median, statistics.median(b))}

        figures = [
            figure("single-message requests/s (POST /v1/track)", "single", lambda r: r["requests_per_s"],
                   f">= {TARGET_RATIO:g} x bare", lambda c, b: c >= TARGET_RATIO * b),
            figure(f"messages/s in batches of {BATCH} (POST /v1/batch)", "batch", lambda r: r["messages_per_s"],
                   f">= {TARGET_BATCH:,}", lambda c, b: c >= TARGET_BATCH),
            figure(f"p50 latency at {a.rate:,.0f} req/s (ms)", "latency", lambda r: r["latency_ms"]["p50"],
                   "", lambda c, b: None),
            figure(f"p99 latency at {a.rate:,.0f} req/s (ms)", "latency", lambda r: r["latency_ms"]["p99"],
                   f"<= {TARGET_P99:g}", lambda c, b: c <= TARGET_P99),
        ]
        figures[0]["ratio"] = round(figures[0]["collector"] / figures[0]["bare"], 3)
        # What a request costs the server whoever else had the machine: steadier than the rates.
        figures += [
            figure("gunicorn CPU per single-message request (us)", "single",
                   lambda r: 1e6 * r["server_cores"] / max(r["requests_per_s"], 1e-9), "", lambda c, b: None),
            figure(f"gunicorn CPU per message in batches of {BATCH} (us)", "batch",
                   lambda r: 1e6 * r["server_cores"] / max(r["messages_per_s"], 1e-9), "", lambda c, b: None),
        ]
        return {
            "benchmark": "collector",
            "started_at": started.isoformat(timespec="seconds"),
            "command": " ".join(["python -m bench.collector", *a.argv]),
            "machine": machine(),
            "code": {"tracker_sha256_16": self.code, "changed_during_run": code_fingerprint() != self.code},
            "gunicorn": {**self.settings, "apps": APPS,
                         "command": " ".join(["gunicorn --bind 127.0.0.1:<free port>", *flags(self.settings), "<app>"])},
            "load": {
                "rounds": a.rounds,
                "closed_loop": f"wrk, 1 thread, {a.connections} keep-alive connections, {a.duration:g} s a run after "
                               f"a {a.warmup:g} s warm-up of each route; bodies from bench/load.lua, fresh messageIds",
                "open_loop": f"bench.openloop, request i due at start + i / {a.rate:g} s, sent on the first free of "
                             f"64 keep-alive connections; {a.warmup:g} s unmeasured, then {a.latency_duration:g} s "
                             "measured; latency from the due time, so waiting for a connection counts",
                "figure": "median over the rounds",
            },
            "figures": figures,
            "checks": checks,
            "all_checks_ok": all(c["ok"] for c in checks),
            "rounds": rounds,
        }


def table(result: dict) -> str:
    rows = [("figure", "collector", "bare baseline", "target", "result")]
    for f in result["figures"]:
        target = f["target"] + (f" (ratio {f['ratio']:.2f})" if "ratio" in f else "")
        verdict = "" if f["pass"] is None else "pass" if f["pass"] else "FAIL"
        rows.append((f["figure"], _spread(f["collector"], f["collector_rounds"]), _spread(f["bare"], f["bare_rounds"]),
                     target, verdict))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = ["  ".join(cell.ljust(w) if i in (0, 3, 4) else cell.rjust(w) for i, (cell, w) in
                       enumerate(zip(row, widths))).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    m, g, load = result["machine"], result["gunicorn"], result["load"]
    lines += ["", f"median of {load['rounds']} round(s) (min-max in brackets), on {m['nproc']} x {m['cpu_model']}",
              f"gunicorn: {g['command']}",
              "cores used per run, median over rounds (gunicorn / redis / load generator / other: kernel and "
              "processes outside the benchmark / steal: taken by the hypervisor from this virtual machine):"]
    busy = stolen = False
    for app, runs in result["rounds"].items():
        cells = []
        for name in runs[0]:
            cores = {k: statistics.median(r[name][f"{k}_cores"] for r in runs)
                     for k in ("server", "redis", "generator", "other", "machine_steal")}
            busy = busy or cores["other"] > BUSY
            stolen = stolen or max(r[name]["machine_steal_cores"] for r in runs) > BUSY
            cells.append(f"{name} " + "/".join(f"{v:.2f}" for v in cores.values()))
        lines.append(f"  {app:9}  " + "   ".join(cells))
    rewrites = [f"round {i} {name}" for i, runs in enumerate(result["rounds"]["collector"], 1)
                for name, run in runs.items() if run.get("redis", {}).get("aof_rewritten")]
    if rewrites:
        lines.append(f"  Redis rewrote its AOF during: {', '.join(rewrites)}")
    if result["code"]["changed_during_run"]:
        lines.append("  note: the collector's source changed during the run: rounds may have measured different code")
    if busy:
        lines.append(f"  note: more than {BUSY} cores went to other work during some runs: figures understate")
    if stolen:
        lines.append(f"  note: the hypervisor took more than {BUSY} cores during some runs (steal): their figures "
                     "understate; compare the bare baseline's round beside them")
    failed = [c for c in result["checks"] if not c["ok"]]
    lines.append(f"stream check (stored = answered 200): {len(result['checks']) - len(failed)} of "
                 f"{len(result['checks'])} collector runs ok")
    for c in failed:
        lines.append(f"  FAILED {c['run']}: {c['accepted_messages']:,} accepted, {c['stored_messages']:,} stored, "
                     f"{c['rejected_requests']} requests rejected")
    return "\n".join(lines)


def _spread(median: float, values: list[float]) -> str:
    if len(values) == 1:
        return _number(median)
    return f"{_number(median)} ({_number(min(values))}-{_number(max(values))})"


def _number(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.2f}"


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.collector", description=__doc__.split("\n\n")[0])
    parser.add_argument("--worker-class", default="gthread")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--reuse-port", action=argparse.BooleanOptionalAction, default=True,
                        help="a SO_REUSEPORT listening socket per worker (default: on)")
    parser.add_argument("--connections", type=int, default=32, help="wrk's keep-alive connections")
    parser.add_argument("--rounds", type=int, default=3, help="collector then bare, this many times")
    parser.add_argument("--duration", type=float, default=8.0, help="seconds of each closed-loop run")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of warm-up before the runs")
    parser.add_argument("--rate", type=float, default=RATE, help="requests/s of the latency run")
    parser.add_argument("--latency-duration", type=float, default=15.0, help="seconds measured at --rate")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    args.argv = argv
    return args


def _stop(signum, frame):
    raise KeyboardInterrupt  # unwinds through every `with`: servers, Redis and the temporary directory


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    signal.signal(signal.SIGTERM, _stop)
    try:
        result = CollectorBench(args).run()
    except KeyboardInterrupt:
        print("interrupted: every process the benchmark started is stopped", file=sys.stderr)
        return 130
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(table(result))
    print(f"\nfigures written to {args.output}")
    return 0 if result["all_checks_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
