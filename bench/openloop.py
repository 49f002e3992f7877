"""An open-loop load generator: requests at a constant rate, whatever the server's answers take.

wrk is closed-loop (a connection sends its next request only after the last answer), so a slow
server slows the load and hides its own queueing. Here a scheduler due-dates request i at
``start + i / rate`` and queues it; a pool of keep-alive connections sends queued requests as soon as
one is free (the wrk2 model). A request's latency runs from its due time, not from when a connection
took it, so time a request spent waiting for a connection counts against the server. The
generator's own lag (due time to the first byte written) is reported too: if that grows, the figures
say so.

    python -m bench.openloop --url http://127.0.0.1:8000/v1/track --rate 1000 --duration 20 \
        --header "Authorization: Basic ..."

prints one JSON line: rate asked and achieved, counts by status, latency percentiles (ms).
"""

import argparse
import asyncio
import gc
import json
import math
import sys
import time
import uuid
from urllib.parse import urlsplit

from bench import messages
from bench.processes import machine_cpu_seconds

CONNECTIONS = 64  # keep-alive connections, so up to this many requests in flight
TIMEOUT = 10.0  # seconds an answer may take before it counts as an error


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of a sorted list (p in 0..100)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Status and whether the server closes the connection after this answer."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length, close = 0, lines[0].startswith("HTTP/1.0")
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "connection":
            close = value.strip().lower() == "close"
    await reader.readexactly(length)
    return status, close


class Generator:
    def __init__(self, url: str, headers: list[str], per_request: int, rate: float, warmup: float,
                 duration: float, connections: int = CONNECTIONS):
        parts = urlsplit(url)
        self.host, self.port, self.path = parts.hostname, parts.port or 80, parts.path
        self.headers = headers
        self.rate, self.connections = rate, connections
        self.warmup_count = round(rate * warmup)
        self.total = self.warmup_count + round(rate * duration)
        self.duration = duration
        run = uuid.uuid4().hex[:10]
        # Every request is rendered before the clock starts: the loop only writes and reads.
        self.requests = [self._render(messages.body(run, 0, i, per_request)) for i in range(self.total)]
        self.latency = [math.nan] * self.total  # seconds from due time to the whole answer read
        self.lag = [math.nan] * self.total  # seconds from due time to the request written
        self.status: dict[str, int] = {}

    def _render(self, body: bytes) -> bytes:
        head = [f"POST {self.path} HTTP/1.1", f"Host: {self.host}:{self.port}", "Content-Type: application/json",
                f"Content-Length: {len(body)}", *self.headers]
        return ("\r\n".join(head) + "\r\n\r\n").encode() + body

    def _count(self, key: str) -> None:
        self.status[key] = self.status.get(key, 0) + 1

    async def _connection(self, queue: asyncio.Queue) -> None:
        loop = asyncio.get_running_loop()
        reader = writer = None
        while True:
            item = await queue.get()
            if item is None:
                break
            index, due = item
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(self.host, self.port)
                self.lag[index] = loop.time() - due
                writer.write(self.requests[index])
                status, close = await asyncio.wait_for(_read_answer(reader), TIMEOUT)
                self.latency[index] = loop.time() - due
                self._count(str(status))
            except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError) as error:
                self._count(type(error).__name__)  # never retried: a retry could store a message twice
                close = True
            if close and writer is not None:
                writer.close()
                reader = writer = None
        if writer is not None:
            writer.close()

    async def run(self) -> dict:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue()
        pool = [asyncio.create_task(self._connection(queue)) for _ in range(self.connections)]
        start = loop.time() + 0.05
        for index in range(self.total):
            due = start + index / self.rate
            delay = due - loop.time()
            await asyncio.sleep(max(0.0, delay))  # 0: behind, yet let the connections run
            queue.put_nowait((index, due))
        for _ in pool:
            queue.put_nowait(None)
        await asyncio.gather(*pool)
        return self._summary(loop.time() - start)

    def _summary(self, elapsed: float) -> dict:
        measured = slice(self.warmup_count, self.total)
        latency = sorted(x for x in self.latency[measured] if not math.isnan(x))
        lag = sorted(x for x in self.lag[measured] if not math.isnan(x))
        ms = 1000.0
        return {
            "rate_asked": self.rate,
            "requests": self.total,
            "warmup_requests": self.warmup_count,
            "measured_requests": self.total - self.warmup_count,
            "measured_answered": len(latency),
            "elapsed_s": round(elapsed, 3),
            "rate_achieved": round(self.total / elapsed, 1),
            "status": self.status,
            "ok": self.status.get("200", 0),
            "latency_ms": {f"p{p}": round(percentile(latency, p) * ms, 3) for p in (50, 90, 99, 99.9, 100)},
            "lag_ms": {f"p{p}": round(percentile(lag, p) * ms, 3) for p in (50, 99, 100)},
            "connections": self.connections,
        }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.openloop", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--header", action="append", default=[], help="'Name: value', repeatable")
    parser.add_argument("--per-request", type=int, default=1, help="messages per request (1: /v1/track body)")
    parser.add_argument("--rate", type=float, default=1000.0, help="requests per second")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds at the rate not measured")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds at the rate measured")
    parser.add_argument("--connections", type=int, default=CONNECTIONS)
    args = parser.parse_args(argv)
    generator = Generator(args.url, args.header, args.per_request, args.rate, args.warmup, args.duration,
                          args.connections)
    gc.collect()
    gc.freeze()  # the rendered requests stay: no collector pauses walking them during the run
    started, whole = time.process_time(), machine_cpu_seconds()
    summary = asyncio.run(generator.run())
    after = machine_cpu_seconds()
    summary["generator_cpu_s"] = round(time.process_time() - started, 3)
    summary["machine_busy_cpu_s"] = round(after["busy"] - whole["busy"], 3)
    summary["machine_steal_cpu_s"] = round(after["steal"] - whole["steal"], 3)
    json.dump(summary, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
