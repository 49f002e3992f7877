"""Running the load generators (wrk, closed-loop; bench.openloop, constant rate) and what they cost.

Each run returns the generator's figures plus the CPU the server, Redis and the generator itself used
during it, in cores (CPU seconds per second of load), so a reader can see who had the machine.
"""

import json
import resource
import shlex
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

from bench import messages
from bench.processes import cpu_seconds, machine_cpu_seconds
from handrail import children

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
LUA = HERE / "load.lua"
WRK_TIMEOUT = "10s"  # an answer slower than this counts as a wrk timeout
SLACK = 60.0  # seconds a generator may run past its load time before it is killed


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(args: list[str]) -> str:
    """Run a generator to its end (killing it on timeout, error or Ctrl-C) and return its stdout."""
    process = children.spawn(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        out, err = process.communicate(timeout=_timeout(args))
    except BaseException:
        process.kill()
        process.wait()
        raise
    if process.returncode != 0:
        raise RuntimeError(f"{shlex.join(args[:3])} ... exited with status {process.returncode}:\n{err[-2000:]}")
    return out


def _timeout(args: list[str]) -> float:
    for flag in ("-d", "--duration"):
        if flag in args:
            return float(args[args.index(flag) + 1].rstrip("s")) + SLACK
    return SLACK


class Load:
    """Runs generators against one server, measuring the CPU of the server's and Redis's processes."""

    def __init__(self, server_pids, redis_pid: int, auth_header: str):
        self.server_pids = server_pids  # a callable: the pids now (workers can be replaced)
        self.redis_pid = redis_pid
        self.auth_header = auth_header

    def _measured(self, args: list[str]) -> tuple[str, dict]:
        server, redis, generator = cpu_seconds(self.server_pids()), cpu_seconds([self.redis_pid]), _children_cpu()
        whole = machine_cpu_seconds()
        out = _run(args)
        after = machine_cpu_seconds()
        usage = {
            "server_cpu_s": cpu_seconds(self.server_pids()) - server,
            "redis_cpu_s": cpu_seconds([self.redis_pid]) - redis,
            "generator_cpu_s": _children_cpu() - generator,
            "machine_busy_cpu_s": after["busy"] - whole["busy"],
            "machine_steal_cpu_s": after["steal"] - whole["steal"],
        }
        return out, usage

    def wrk_args(self, url: str, per_request: int, duration: float, connections: int, threads: int) -> list[str]:
        path = url.split("//", 1)[1].split("/", 1)[1]
        return ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration:g}s", "--timeout", WRK_TIMEOUT,
                "-s", str(LUA), "-H", "Content-Type: application/json", "-H", self.auth_header, url,
                "--", "/" + path, str(per_request), uuid.uuid4().hex[:10], messages.SENT_AT,
                messages.MESSAGE_FORMAT, str(messages.SESSIONS)]

    def wrk(self, url: str, per_request: int, duration: float, connections: int, threads: int = 1) -> dict:
        """Closed loop: `connections` connections each send a request as soon as the last is answered."""
        if not shutil.which("wrk"):
            raise RuntimeError("wrk is not installed: apt-get install -y wrk (make bench does it)")
        args = self.wrk_args(url, per_request, duration, connections, threads)
        out, usage = self._measured(args)
        line = next((x for x in out.splitlines() if x.startswith("BENCH_JSON ")), None)
        if line is None:
            raise RuntimeError(f"wrk printed no summary:\n{out[-2000:]}")
        result = json.loads(line.removeprefix("BENCH_JSON "))
        seconds = result["duration_us"] / 1e6
        result.update(
            generator="wrk", connections=connections, threads=threads, per_request=per_request, seconds=seconds,
            requests_per_s=result["ok"] / seconds, messages_per_s=result["ok"] * per_request / seconds,
            accepted_messages=result["ok"] * per_request,
            in_flight_bound=connections * per_request,  # sent, maybe stored, but unanswered at wrk's cutoff
            command=_printable(args),
            **_cores(usage, seconds),
        )
        return result

    def open_loop(self, url: str, rate: float, warmup: float, duration: float) -> dict:
        """Constant rate: request i is due at start + i / rate, whatever the earlier ones take."""
        args = [sys.executable, "-m", "bench.openloop", "--url", url, "--header", self.auth_header,
                "--rate", f"{rate:g}", "--warmup", f"{warmup:g}", "--duration", f"{duration:g}"]
        out, usage = self._measured(args)
        result = json.loads(out.strip().splitlines()[-1])
        seconds = result["elapsed_s"]
        for name in ("generator_cpu_s", "machine_busy_cpu_s", "machine_steal_cpu_s"):
            usage[name] = result.pop(name)  # over the run alone, not the rendering of the bodies before it
        result.update(generator="bench.openloop", per_request=1, seconds=seconds, accepted_messages=result["ok"],
                      in_flight_bound=0, command=_printable(args), **_cores(usage, seconds))
        return result


def _cores(usage: dict, seconds: float) -> dict:
    """CPU seconds per second of load; `other_cores`: what processes not of this run took meanwhile."""
    ours = usage["server_cpu_s"] + usage["redis_cpu_s"] + usage["generator_cpu_s"]
    usage = dict(usage, other_cpu_s=max(0.0, usage["machine_busy_cpu_s"] - ours))
    return {name.replace("_cpu_s", "_cores"): round(value / seconds, 2) for name, value in usage.items()}


def _printable(args: list[str]) -> str:
    """The command as run, with the write key and the message format elided."""
    shown = ["'Authorization: Basic <write key>'" if a.startswith("Authorization:") else
             "<message format>" if a == messages.MESSAGE_FORMAT else shlex.quote(a) for a in args]
    if shown[0] == shlex.quote(sys.executable):
        shown[0] = "python"
    return " ".join(shown).replace(str(ROOT) + "/", "")
