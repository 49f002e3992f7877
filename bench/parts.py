"""The service's processes started one by one, as `handrail run` starts them, each killable and restarted.

Redis (embedded, AOF in the data directory), gunicorn serving the app (the Procfile's gthread setting),
the scorer under a fixed consumer name (restarted, it takes up the entries it had read and not
acknowledged), the learner and the RQ worker of the dispatch queue, with `handrail run`'s arguments. A
watcher thread starts the scorer, the learner, the worker or Redis again when one exits, as a process
manager would (`handrail run` itself stops everything when one of its processes dies); gunicorn's master
restarts its own workers.
Used by bench/e2e.py and tests/test_faults.py.
"""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import redis as redis_py

from bench.processes import Gunicorn
from handrail import children, workers
from handrail.embedded_redis import EmbeddedRedis

WEB = {"worker_class": "gthread", "workers": 2, "threads": 32, "reuse_port": True}  # as the Procfile's `web`
SCORER_NAME = "e2e-scorer"  # one name across restarts: the new process takes up the old one's pending entries
LEARNER_NAME = "e2e-learner"  # and its lease, at once
RESTART_AFTER = 0.5  # seconds the watcher waits before starting a process again
WATCH_EVERY = 0.2  # seconds between the watcher's looks


class Parts:
    """Context manager: Redis, web, scorer, learner and worker running; ``kill(name)`` sends one SIGKILL."""

    def __init__(self, data_dir: Path, token: str, env: dict | None = None, appendfsync: str = "everysec"):
        self.data_dir = Path(data_dir)
        self.token = token
        self.appendfsync = appendfsync
        self.extra_env = env or {}
        self.redis: EmbeddedRedis | None = None
        self.web: Gunicorn | None = None
        self.processes: dict[str, subprocess.Popen] = {}
        self.restarts = {"scorer": 0, "learner": 0, "worker": 0, "redis": 0}
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.watcher: threading.Thread | None = None

    @property
    def url(self) -> str:
        return self.web.url

    def client(self) -> redis_py.Redis:
        return redis_py.Redis.from_url(self.redis.url)

    def _env(self) -> dict:
        return dict(os.environ, REDIS_URL=self.redis.url, HANDRAIL_ADMIN_TOKEN=self.token, PYTHONUNBUFFERED="1",
                    **self.extra_env)

    def start_redis(self) -> None:
        self.redis = EmbeddedRedis(self.data_dir).start()
        with self.client() as connection:
            connection.config_set("appendfsync", self.appendfsync)

    def _spawn(self, name: str) -> None:
        python = sys.executable
        args = {"scorer": [python, "-m", "handrail", "scorer", "--name", SCORER_NAME],
                "learner": [python, "-m", "handrail", "learner", "--name", LEARNER_NAME],
                **workers.commands(self.redis.url)}[name]
        log = open(self.data_dir / f"{name}.log", "ab")
        self.processes[name] = children.spawn(args, env=self._env(), start_new_session=True, stdout=log, stderr=log)
        log.close()

    def __enter__(self) -> "Parts":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            self.start_redis()
            self.web = Gunicorn("handrail.app:create_app()", WEB, self._env()).__enter__()
            for name in ("scorer", "learner", "worker"):
                self._spawn(name)
        except BaseException:
            self.stop()
            raise
        self.watcher = threading.Thread(target=self._watch, name="parts-watcher", daemon=True)
        self.watcher.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _watch(self) -> None:
        # Every restart happens on this thread, which lives as long as the parts: a child gets its
        # parent-death signal (handrail.children) when the *thread* that started it ends.
        while not self.stopping.wait(WATCH_EVERY):
            with self.lock:
                if self.redis.process.poll() is not None:  # reaped by the poll: its pid file names no zombie
                    self.start_redis()
                    self.restarts["redis"] += 1
                for name, process in list(self.processes.items()):
                    if process.poll() is not None and not self.stopping.is_set():
                        time.sleep(RESTART_AFTER)
                        self._spawn(name)
                        self.restarts[name] += 1

    # -- faults -------------------------------------------------------------------------------
    def pids(self) -> dict[str, list[int]]:
        """name -> pids now: web (gunicorn's master first, then its workers), scorer, worker (and its work
        horse while a job runs), redis."""
        found = {"web": [self.web.process.pid] + sorted(p.pid for p in _children(self.web.process.pid))}
        for name, process in self.processes.items():
            found[name] = [process.pid] + [p.pid for p in _children(process.pid)]
        found["redis"] = [self.redis.process.pid]
        return found

    def kill(self, name: str) -> int:
        """SIGKILL to one process: "scorer", "learner", "worker" (its main process), "web-worker" (one of gunicorn's
        workers: the master forks another), or "redis" (started again from its AOF by the watcher, with the
        same data directory and socket). Returns the pid killed."""
        with self.lock:
            pid = {"redis": lambda: self.redis.process.pid, "web-worker": lambda: self.pids()["web"][1]}.get(
                name, lambda: self.processes[name].pid)()
            os.kill(pid, signal.SIGKILL)
            return pid

    # -- stopping -----------------------------------------------------------------------------
    def stop(self) -> None:
        self.stopping.set()
        if self.watcher is not None:
            self.watcher.join()
        for name, process in reversed(list(self.processes.items())):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.processes.clear()
        if self.web is not None:
            self.web.stop()
            self.web = None
        if self.redis is not None:
            self.redis.stop()
            self.redis = None


def _children(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children()
    except psutil.NoSuchProcess:
        return []
