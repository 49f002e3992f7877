"""Processes the benchmarks start: gunicorn in its own session, stopped with its whole group; CPU use."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

from handrail import children

READY_TIMEOUT = 30.0  # seconds a server gets to answer /healthz
STOP_TIMEOUT = 10.0  # seconds a server gets to stop after SIGTERM
TICKS = os.sysconf("SC_CLK_TCK")  # clock ticks per second in /proc/<pid>/stat


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _stat(pid: int) -> list[str] | None:
    try:
        text = open(f"/proc/{pid}/stat").read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return text[text.rindex(")") + 2:].split()  # fields from the state on; the name may hold spaces


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU time of these processes so far."""
    total = 0
    for pid in pids:
        fields = _stat(pid)
        if fields:
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


def machine_cpu_seconds() -> dict:
    """CPU seconds the whole machine spent so far: busy (every process, ours or not) and stolen by the host."""
    fields = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = fields[:8]
    return {"busy": (user + nice + system + irq + softirq) / TICKS, "steal": steal / TICKS}


def with_children(pid: int) -> list[int]:
    """The process and its direct children (gunicorn's master and its workers)."""
    found = [pid]
    for name in os.listdir("/proc"):
        if name.isdigit():
            fields = _stat(int(name))
            if fields and int(fields[1]) == pid:
                found.append(int(name))
    return found


def flags(settings: dict) -> list[str]:
    """gunicorn's flags for settings {worker_class, workers, threads, reuse_port}: the same for every app.

    reuse_port: each worker listens on its own SO_REUSEPORT socket and the kernel spreads new
    connections over them; on one shared socket a gthread worker may accept every keep-alive
    connection of a burst and leave the other worker idle.
    """
    return ["--worker-class", settings["worker_class"], "--workers", str(settings["workers"]),
            "--threads", str(settings["threads"]), *(["--reuse-port"] if settings.get("reuse_port") else []),
            "--no-control-socket", "--log-level", "warning"]


class Gunicorn:
    """gunicorn serving `app` on a free loopback port, in its own process group; a context manager."""

    def __init__(self, app: str, settings: dict, env: dict):
        self.app, self.settings, self.env = app, settings, env
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    @property
    def args(self) -> list[str]:
        return [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.port}", *flags(self.settings), self.app]

    def __enter__(self) -> "Gunicorn":
        # Own session: a terminal's Ctrl-C reaches the benchmark only, which then stops the group.
        self.process = children.spawn(self.args, env=self.env, start_new_session=True)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn ({self.app}) exited with status {self.process.returncode} while starting")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn ({self.app}) did not answer {self.url}/healthz within {READY_TIMEOUT:.0f} s")

    def pids(self) -> list[int]:
        return with_children(self.process.pid)

    def stop(self) -> None:
        if self.process is None:
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.process.wait(STOP_TIMEOUT)
                break
            except subprocess.TimeoutExpired:
                continue
        self.process.wait()
        try:  # a worker that outlived its master still holds the group: end it
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process = None
