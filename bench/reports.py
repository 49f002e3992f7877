"""The reports benchmark: how long /reports takes to render over 100,000 recorded sessions.

    python -m bench.reports           # or `python -m bench`, which runs every benchmark

One run starts an embedded Redis (AOF on, as `handrail run` has it) and writes the hourly counters
that 100,000 sessions spread over the last 30 days leave behind (--sessions, --days): the keys and
fields the stages write, for many rules, channels, pages, form fields, elements and payment failure
reasons. Each session's end goes through scorer.funnel as the scorer writes it (scorer.keys.REPORT, the
hour's and the day's hashes with their bounds on fields); rules' and dispatch's counters
(rules.keys.REPORT, dispatch.keys.REPORT) are summed per hour and written through reports.hours.add:
Redis ends up holding the same hashes as if each contact had added its own, in a fraction of the time.

Then gunicorn serves `handrail.app:create_app()` (the settings of bench/collector.py) and one signed-in
client asks, in turns, N times each (sequentially, one request in flight): GET /reports (7 days),
GET /reports?since=30d, GET /api/reports?since=30d, and as baselines in the same run GET /healthz and
GET /console/ (a signed-in page). Latency is wall time from the request sent to the body read.
Target: p99 under 500 ms for the report over 30 days. Writes var/bench/reports.json.
"""

import argparse
import http.cookiejar
import json
import os
import random
import re
import secrets
import statistics
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

import redis as redis_py

from bench.collector import machine
from bench.load import ROOT
from bench.openloop import percentile
from bench.processes import Gunicorn, cpu_seconds, flags
from dispatch import keys as dispatch_keys
from handrail.embedded_redis import EmbeddedRedis
from reports import hours
from rules import keys as rule_keys
from scorer import funnel as scorer_funnel

OUTPUT = ROOT / "var" / "bench" / "reports.json"
TARGET_MS = 500  # the issue's: the page renders in under 500 ms with 100,000 recorded sessions
SETTINGS = {"worker_class": "gthread", "workers": 2, "threads": 4, "reuse_port": True}  # as bench/collector.py
STEPS = ("cart", "shipping", "payment", "confirmation")
CHANNELS = ("chat", "call", "email", "sms")
KINDS = {"form_error": [f"field_{n}" for n in range(40)], "dead_click": [f"div.promo:nth-child({n})" for n in range(60)],
         "payment_failed": ["card_declined", "insufficient_funds", "expired_card", "incorrect_cvc", "processing_error",
                            "3ds_failed", "do_not_honor", "lost_card", "pickup_card", "risk_blocked"],
         "rage_click": [f"button#pay-{n}" for n in range(30)]}
PAGES = [f"/checkout/{step}" for step in STEPS] + [f"/product/sku-{n}" for n in range(150)] + ["/cart", "/"]
RULES = [f"rule-{n:02d}" for n in range(40)]
ROUTES = {  # name -> path; the first two are the baselines
    "healthz (baseline)": "/healthz",
    "console page (baseline)": "/console/",
    "reports page, 7 days": "/reports",
    "reports page, 30 days": "/reports?since=30d",
    "reports JSON, 30 days": "/api/reports?since=30d",
}
MEASURED = ("reports page, 30 days", "reports JSON, 30 days")  # held to the target


def counters(sessions: int, days: int, seed: int, now: float) -> tuple[dict, list, dict]:
    """(template, hour) -> {field: amount} as rules and dispatch would have added them, the ended sessions'
    states as the scorer hands them to scorer.funnel, and the totals to check."""
    rng = random.Random(seed)
    found: dict[tuple[str, int], dict] = defaultdict(lambda: defaultdict(int))
    ended = []
    truth = {"sessions": 0, "fired": 0}

    def add(template: str, at: float, field: str, amount=1) -> None:
        found[template, hours.hour_of(at)][field] += amount

    start = now - days * 86_400 + 3600  # an hour clear of the period's start: every session is inside 30 days
    for _ in range(sessions):
        end = rng.uniform(start, now - 60)
        depth = 0
        while depth < len(STEPS) and rng.random() < (0.55 if depth == 0 else 0.7):
            depth += 1
        won = depth == len(STEPS)
        truth["sessions"] += 1
        marks = []
        for _ in range(rng.choice((0, 0, 0, 1, 1, 2, 3))):
            kind = rng.choice(list(KINDS))
            mark = [rng.choice(PAGES), kind, rng.choice(KINDS[kind])]
            if mark not in marks:
                marks.append(mark)
        ended.append({"outcome": "purchase" if won else "abandoned" if depth else "left",
                      "reached": list(STEPS[:depth]), "marks": marks, "last_seen": int(end * 1000),
                      "score": min(0.99, max(0.0, rng.gauss(0.3 if won else 0.6, 0.2)))})
        if depth and rng.random() < 0.15:
            _contact(add, rng, end, won, truth)
    for hour in range(hours.hour_of(start), hours.hour_of(now) + 1):
        on_shift = 4 if 8 <= hour % 24 < 20 else 1  # agents: a day shift and a night watch
        found[dispatch_keys.REPORT, hour]["shift_seconds"] += on_shift * 3600
    return found, ended, truth


def _contact(add, rng: random.Random, end: float, won: bool, truth: dict) -> None:
    """A rule fired on the session some minutes before its end: held out, or contacted and a task made."""
    rule, channel = rng.choice(RULES), rng.choice(CHANNELS)
    decided = end - rng.uniform(60, 1200)
    revenue = round(rng.uniform(20, 400), 2)
    if rng.random() < 0.1:
        add(rule_keys.REPORT, decided, f"held|{rule}|{channel}")
        add(rule_keys.REPORT, end, f"holdout|{rule}")
        if won:
            add(rule_keys.REPORT, end, f"holdout_won|{rule}")
            add(rule_keys.REPORT, end, f"holdout_revenue|{rule}", revenue)
        return
    truth["fired"] += 1
    add(rule_keys.REPORT, decided, f"fired|{rule}|{channel}")
    add(rule_keys.REPORT, end, f"contacted|{rule}")
    if won:
        add(rule_keys.REPORT, end, f"contacted_won|{rule}")
        add(rule_keys.REPORT, end, f"contacted_revenue|{rule}", revenue)
    task = f"{rule}|{channel}"
    for what in ("created", "offered"):
        add(dispatch_keys.REPORT, decided, f"{what}|{task}")
    add(dispatch_keys.REPORT, decided, "offered")  # dispatch.tasks keeps the load's counts summed too
    if rng.random() < 0.8:
        wait = rng.uniform(5, 120)
        add(dispatch_keys.REPORT, decided + wait, f"claimed|{task}")
        add(dispatch_keys.REPORT, decided + wait, "claimed")
        add(dispatch_keys.REPORT, decided + wait, f"claim_seconds|{task}", round(wait, 3))
        if won and rng.random() < 0.5:
            add(dispatch_keys.REPORT, end, f"converted|{task}")
    else:
        add(dispatch_keys.REPORT, decided + 300, f"expired|{task}")
        add(dispatch_keys.REPORT, decided + 300, "expired")


def end_sessions(redis, ended: list) -> None:
    """Each session's end through scorer.funnel, as the scorer writes it: the hour's and the day's hashes with
    their bounds on fields (a purchase is recorded at the end here, the counters are the same)."""
    for state in ended:
        if state["outcome"] == "purchase":
            scorer_funnel.bought(redis, state, state["last_seen"], False)
        scorer_funnel.closed(redis, state, True if state["outcome"] == "abandoned" else None)


def write(redis, found: dict) -> dict:
    """Every hour's additions through reports.hours.add, in pipelines; how many hashes and fields."""
    pipe, queued = redis.pipeline(transaction=False), 0
    for (template, hour), additions in found.items():
        hours.add(pipe, template, hour * 3600, {field: _amount(value) for field, value in additions.items()})
        queued += len(additions)
        if queued >= 20_000:  # commands per round trip: bounded, so the client's buffer stays small
            pipe.execute()
            queued = 0
    pipe.execute()


def stored(redis) -> dict:
    """The report hashes in Redis: hourly and daily, and their fields."""
    found = {"hashes": 0, "day_hashes": 0, "fields": 0}
    for key in redis.scan_iter(match="hr:*:report:*", count=1000):
        found["day_hashes" if b":day:" in key else "hashes"] += 1
        found["fields"] += redis.hlen(key)
    return found


def _amount(value):
    return round(value, 3) if isinstance(value, float) else value


class Client:
    """One browser's worth of HTTP: a cookie jar, signed in to the console with the admin token."""

    def __init__(self, url: str, token: str):
        self.url = url
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        page = self.get("/console/login")[1].decode()
        csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
        body = urllib.parse.urlencode({"csrf": csrf, "token": token}).encode()
        with self.opener.open(self.url + "/console/login", data=body, timeout=30) as answer:
            if not answer.url.endswith("/console/"):
                raise RuntimeError(f"signing in to the console failed: ended at {answer.url}")

    def get(self, path: str) -> tuple[int, bytes]:
        with self.opener.open(self.url + path, timeout=30) as answer:
            return answer.status, answer.read()

    def timed(self, path: str) -> float:
        """Milliseconds from the request sent to the whole body read."""
        began = time.perf_counter()
        status, _ = self.get(path)
        elapsed = (time.perf_counter() - began) * 1000
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}")
        return elapsed


def measure(client: Client, requests: int, warmup: int, pids) -> dict:
    for path in ROUTES.values():
        for _ in range(warmup):
            client.timed(path)
    times = {name: [] for name in ROUTES}
    cpu = {name: 0.0 for name in ROUTES}
    for _ in range(requests):  # in turns, so that a slow minute of the machine falls on every route alike
        for name, path in ROUTES.items():
            before = cpu_seconds(pids())
            times[name].append(client.timed(path))
            cpu[name] += cpu_seconds(pids()) - before
    figures = {}
    for name, values in times.items():
        ordered = sorted(values)
        figures[name] = {"path": ROUTES[name], "p50_ms": round(percentile(ordered, 50), 1),
                         "p99_ms": round(percentile(ordered, 99), 1), "max_ms": round(ordered[-1], 1),
                         "mean_ms": round(statistics.fmean(ordered), 1),
                         "gunicorn_cpu_ms": round(cpu[name] / len(values) * 1000, 1)}
    return figures


def latency_lines(requests: dict, measured, target_ms: float, width: int = 34) -> list[str]:
    """The latency table of a web benchmark (this one's and bench.lookup's): a row per route, the routes in
    ``measured`` held to p99 < ``target_ms``."""
    lines = [f"{'figure':<{width}}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'CPU ms':>9}  target      result",
             f"{'-' * width}{'-' * 36}  ----------  ------"]
    for name, figure in requests.items():
        held = name in measured
        verdict = ("ok" if figure["p99_ms"] < target_ms else "FAIL") if held else ""
        lines.append(f"{name:<{width}}{figure['p50_ms']:>9,.1f}{figure['p99_ms']:>9,.1f}{figure['max_ms']:>9,.1f}"
                     f"{figure['gunicorn_cpu_ms']:>9,.1f}  {f'p99 < {target_ms}' if held else '':<10}  {verdict}")
    return lines


def table(result: dict) -> str:
    lines = latency_lines(result["requests"], MEASURED, TARGET_MS)
    seeded = result["seeded"]
    lines += ["", f"{seeded['sessions']:,} sessions over {result['days']} days: {seeded['hashes']:,} hourly and "
                  f"{seeded['day_hashes']:,} daily hashes, "
                  f"{seeded['fields']:,} fields, written in {seeded['seconds']} s; "
                  f"{result['requests_each']} requests each, one at a time, after {result['warmup']} of warm-up",
              f"CPU ms: gunicorn's (master and workers) per request; gunicorn {result['gunicorn']['command']}"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reports", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=100_000, help="recorded sessions whose counters are written")
    parser.add_argument("--days", type=int, default=30, help="days the sessions are spread over, ending now")
    parser.add_argument("--requests", type=int, default=50, help="requests measured per route")
    parser.add_argument("--warmup", type=int, default=3, help="requests per route before measuring")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    now = time.time()
    token = secrets.token_urlsafe(16)
    with tempfile.TemporaryDirectory(prefix="hr-bench-") as data, EmbeddedRedis(Path(data)) as embedded:
        redis = redis_py.Redis.from_url(embedded.url)
        began = time.perf_counter()
        found, ended, truth = counters(args.sessions, args.days, args.seed, now)
        end_sessions(redis, ended)
        write(redis, found)
        seeded = {**stored(redis), "sessions": truth["sessions"],
                  "seconds": round(time.perf_counter() - began, 1)}
        env = dict(os.environ, REDIS_URL=embedded.url, HANDRAIL_ADMIN_TOKEN=token, PYTHONUNBUFFERED="1")
        with Gunicorn("handrail.app:create_app()", SETTINGS, env) as server:
            client = Client(server.url, token)
            requests = measure(client, args.requests, args.warmup, server.pids)
            figures = json.loads(client.get(f"/api/reports?since={args.days}d")[1])
        redis.close()
    fired = sum(row["fired"] for row in figures["rules"])
    check = {"sessions_reported": figures["funnel"]["sessions"], "sessions_written": truth["sessions"],
             "fired_reported": fired, "fired_written": truth["fired"]}
    check["ok"] = check["sessions_reported"] == check["sessions_written"] and fired == truth["fired"]
    result = {"requests": requests, "seeded": seeded, "days": args.days, "requests_each": args.requests,
              "warmup": args.warmup, "check": check, "target_ms": TARGET_MS, "machine": machine(),
              "gunicorn": {**SETTINGS, "command": " ".join(["--bind 127.0.0.1:<free port>", *flags(SETTINGS),
                                                            "handrail.app:create_app()"])},
              "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "command": "python -m bench.reports " + " ".join(sys.argv[1:] if argv is None else argv)}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(table(result))
    if not check["ok"]:
        print(f"check failed: the report disagrees with the counters written: {check}")
    print(f"\nfigures written to {args.output}")
    return 0 if check["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
