"""Child processes that die with their parent, even when the parent is killed with SIGKILL."""

import ctypes
import signal
import subprocess

PR_SET_PDEATHSIG = 1  # prctl option, from <linux/prctl.h>


def _die_with_parent() -> None:
    # Runs in the child between fork and exec: the kernel sends SIGTERM when the parent dies (strictly,
    # when the parent's thread that spawned it ends: spawn from a thread that lives as long as the child).
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def spawn(args: list[str], **kwargs) -> subprocess.Popen:
    return subprocess.Popen(args, preexec_fn=_die_with_parent, **kwargs)
