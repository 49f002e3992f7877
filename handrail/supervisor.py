"""Runs the service's processes together and stops them together: if one dies, all stop."""

import logging
import os
import signal
import subprocess
import time

from handrail import children

log = logging.getLogger("handrail.run")

STOP_TIMEOUT = 15.0  # seconds a process gets to finish after SIGTERM


class Supervisor:
    def __init__(self):
        self.processes: list[tuple[str, subprocess.Popen]] = []
        self.stopping = False

    def start(self, name: str, args: list[str], env: dict) -> subprocess.Popen:
        # Own session: a terminal's Ctrl-C reaches only us, and we stop the children in order.
        process = children.spawn(args, env=env, start_new_session=True)
        self.processes.append((name, process))
        log.info("started %s (pid %s)", name, process.pid)
        return process

    def request_stop(self, *_):
        self.stopping = True

    def wait(self) -> int:
        """Block until a stop is requested (0) or a process exits by itself (1)."""
        signal.signal(signal.SIGINT, self.request_stop)
        signal.signal(signal.SIGTERM, self.request_stop)
        while not self.stopping:
            for name, process in self.processes:
                code = process.poll()
                if code is not None:
                    log.error("%s exited with status %s: stopping everything", name, code)
                    return 1
            time.sleep(0.3)
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


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:  # exited between the poll and the signal
        pass
