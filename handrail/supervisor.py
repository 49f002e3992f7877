"""Runs the service's processes together and stops them together.

A process that dies by itself (a crash, an OOM kill, kill -9) is started again after a pause that doubles
with each death; its work is safe to take up again (the scorer reclaims its pending stream entries, RQ
requeues abandoned jobs, Redis reloads its AOF). A process that dies RESTARTS times within RESTART_WINDOW
is broken rather than unlucky: then everything stops, with status 1.
"""

import logging
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field

from handrail import children

log = logging.getLogger("handrail.run")

STOP_TIMEOUT = 15.0  # seconds a process gets to finish after SIGTERM
RESTARTS = 5  # deaths of one process within RESTART_WINDOW after which everything stops
RESTART_WINDOW = 60.0  # seconds
FIRST_PAUSE = 0.5  # seconds before the first restart; doubled for each death in the window
TICK = 0.3  # seconds between looks at the processes


@dataclass
class _Child:
    name: str
    start: object  # () -> None: (re)starts it
    alive: object  # () -> bool
    deaths: list[float] = field(default_factory=list)
    due: float | None = None  # when a restart is due


class Supervisor:
    def __init__(self):
        self.processes: list[tuple[str, subprocess.Popen]] = []
        self.children: list[_Child] = []
        self.stopping = False

    def start(self, name: str, args: list[str], env: dict) -> subprocess.Popen:
        """Start ``args`` as ``name``, to be restarted if it dies."""
        slot = len(self.processes)
        self.processes.append((name, self._spawn(name, args, env)))

        def again():
            self.processes[slot] = (name, self._spawn(name, args, env))

        self.children.append(_Child(name, again, lambda: self.processes[slot][1].poll() is None))
        return self.processes[slot][1]

    def watch(self, name: str, alive, restart) -> None:
        """Restart, by ``restart()``, something started elsewhere (the embedded Redis) when ``alive()`` fails."""
        self.children.insert(0, _Child(name, restart, alive))  # first: the others need it

    @staticmethod
    def _spawn(name: str, args: list[str], env: dict) -> subprocess.Popen:
        # Own session: a terminal's Ctrl-C reaches only us, and we stop the children in order.
        process = children.spawn(args, env=env, start_new_session=True)
        log.info("started %s (pid %s)", name, process.pid)
        return process

    def request_stop(self, *_):
        self.stopping = True

    def wait(self) -> int:
        """Block until a stop is requested (0) or a process keeps dying (1), restarting the ones that die."""
        signal.signal(signal.SIGINT, self.request_stop)
        signal.signal(signal.SIGTERM, self.request_stop)
        while not self.stopping:
            now = time.monotonic()
            for child in self.children:
                if child.due is None and not child.alive():
                    child.deaths = [at for at in child.deaths if now - at < RESTART_WINDOW] + [now]
                    if len(child.deaths) >= RESTARTS:
                        log.error("%s died %s times in %.0f s: stopping everything", child.name, len(child.deaths),
                                  RESTART_WINDOW)
                        return 1
                    child.due = now + FIRST_PAUSE * 2 ** (len(child.deaths) - 1)
                    log.error("%s died: starting it again in %.1f s", child.name, child.due - now)
                elif child.due is not None and now >= child.due:
                    child.due = None
                    child.start()
            time.sleep(TICK)
        return 0

    def stop(self) -> None:
        """SIGTERM in reverse start order, then SIGKILL for any that linger."""
        for name, process in reversed(self.processes):
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for name, process in reversed(self.processes):
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in time: killing it", name)
                _signal_group(process, signal.SIGKILL)
                process.wait()
        self.processes.clear()
        self.children.clear()


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:  # exited between the poll and the signal
        pass
