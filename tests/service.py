"""`handrail run` started for real, as a user starts it, for tests of the whole service."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 60.0  # seconds


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Service:
    def __init__(self, data_dir: Path, *args: str, token: str = "e2e-admin-token"):
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = token
        self.args = ["--port", str(self.port), "--data-dir", str(data_dir), *args]
        self.process: subprocess.Popen | None = None
        self.log = data_dir.parent / f"{data_dir.name}-run.log"

    def start(self) -> "Service":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, HANDRAIL_ADMIN_TOKEN=self.token)
        env.pop("REDIS_URL", None)
        offset = self.log.stat().st_size if self.log.exists() else 0
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "handrail", "run", *self.args], cwd=ROOT, env=env, stdout=log, stderr=log
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"handrail run exited: {self.log.read_text()[-3000:]}")
            if "Handrail is running" in self.log.read_text(errors="replace")[offset:]:
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"handrail run did not start in {START_TIMEOUT} s: {self.log.read_text()[-3000:]}")

    def descendants(self) -> list[psutil.Process]:
        return psutil.Process(self.process.pid).children(recursive=True)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.process.send_signal(sig)
        return self.process.wait(30)

    def api(self, path: str, method: str = "GET", body: bytes | None = None):
        request = urllib.request.Request(self.url + path, data=body, method=method,
                                         headers={"Authorization": f"Bearer {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.load(answer)
