"""The collector with Redis unreachable: how soon it answers 503.

    python -m bench.redis_down        # or `python -m bench`, which runs every benchmark

gunicorn serves `handrail.app:create_app()` (the settings of bench/reports.py, as bench/collector.py)
on an embedded Redis, and one client posts a one-message batch N times in turn (one request in
flight, a new connection each) while Redis is up (the baseline), stopped (its process gone: nothing
listens), and hung (its process stopped with SIGSTOP: connections are taken, nothing answers).
Latency is wall time from the request sent to the body read. Target (issue 9): a 503 within 200 ms
when Redis is unreachable. Writes var/bench/redis_down.json.
"""

import argparse
import json
import os
import signal
import statistics
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timezone
from pathlib import Path

import redis as redis_py

from bench.collector import machine
from bench.load import ROOT
from bench.openloop import percentile
from bench.processes import Gunicorn
from bench.reports import SETTINGS
from handrail.embedded_redis import EmbeddedRedis
from tracker import sites

OUTPUT = ROOT / "var" / "bench" / "redis_down.json"
TARGET_MS = 200  # the issue's: a 503 within 200 ms with Redis unreachable
EXPECTED = {"up": 200, "stopped": 503, "hung": 503}


def post(url: str, write_key: str) -> tuple[int, float]:
    """One batch as the snippet sends it; its status and milliseconds."""
    message = {"type": "track", "event": "Bench", "anonymousId": "bench", "messageId": uuid.uuid4().hex}
    body = json.dumps({"writeKey": write_key, "batch": [message]}).encode()
    request = urllib.request.Request(url + "/v1/batch", data=body, headers={"Content-Type": "text/plain"})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            answer.read()
            status = answer.status
    except urllib.error.HTTPError as error:
        error.read()
        status = error.code
    return status, (time.perf_counter() - started) * 1000


def measure(url: str, write_key: str, count: int) -> dict:
    answers = [post(url, write_key) for _ in range(count)]
    times = sorted(ms for _, ms in answers)
    return {"requests": count, "statuses": sorted({status for status, _ in answers}),
            "p50_ms": round(statistics.median(times), 1), "p99_ms": round(percentile(times, 99), 1),
            "max_ms": round(times[-1], 1)}


def table(result: dict) -> str:
    lines = [f"{'Redis':<9} {'requests':>8} {'status':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}"]
    for name, row in result["cases"].items():
        status = ",".join(str(s) for s in row["statuses"])
        figures = " ".join(f"{row[k]:>8}" for k in ("p50_ms", "p99_ms", "max_ms"))
        lines.append(f"{name:<9} {row['requests']:>8} {status:>8} {figures}")
    lines.append(f"target: a 503 within {TARGET_MS} ms with Redis unreachable")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.redis_down", description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=50, help="requests measured with Redis up and stopped")
    parser.add_argument("--hung-requests", type=int, default=5, help="requests measured with Redis hung")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    cases = {}
    with tempfile.TemporaryDirectory(prefix="hr-bench-") as data, EmbeddedRedis(Path(data)) as embedded:
        redis = redis_py.Redis.from_url(embedded.url)
        write_key = sites.create(redis, "bench", [])["write_key"]
        redis.close()
        env = dict(os.environ, REDIS_URL=embedded.url, HANDRAIL_ADMIN_TOKEN=uuid.uuid4().hex, PYTHONUNBUFFERED="1")
        with Gunicorn("handrail.app:create_app()", SETTINGS, env) as server:
            cases["up"] = measure(server.url, write_key, args.requests)
            embedded.stop()
            cases["stopped"] = measure(server.url, write_key, args.requests)
            embedded.start()
            os.kill(embedded.process.pid, signal.SIGSTOP)
            try:
                cases["hung"] = measure(server.url, write_key, args.hung_requests)
            finally:
                os.kill(embedded.process.pid, signal.SIGCONT)
    ok = all(cases[name]["statuses"] == [status] for name, status in EXPECTED.items())
    result = {"cases": cases, "target_ms": TARGET_MS, "ok": ok, "machine": machine(), "gunicorn": SETTINGS,
              "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "command": "python -m bench.redis_down " + " ".join(sys.argv[1:] if argv is None else argv)}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(table(result))
    if not ok:
        print(f"check failed: expected statuses {EXPECTED}")
    print(f"\nfigures written to {args.output}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
