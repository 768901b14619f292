"""Child processes die with their parent (pool workers, ``serve --workers`` processes).

``kill -9`` of a parent runs none of its clean-up, so its children must notice by
themselves: Linux's parent-death signal (``prctl(PR_SET_PDEATHSIG, SIGKILL)``) where
available, and a watchdog thread that polls the parent as a fallback (other
systems, or a parent thread that exits before the process does).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import signal
import sys
import threading

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
PARENT_ENV = "FORTIFY_PARENT_PID"
WATCH_EVERY_S = 0.5


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _set_pdeathsig() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return int(libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def die_with_parent(parent_pid: int | None = None) -> None:
    """Make this process exit when ``parent_pid`` (default: the current parent) dies."""
    ppid = os.getppid()
    watched = parent_pid or ppid
    _set_pdeathsig()
    if not _alive(watched) or (parent_pid is None and ppid == 1):
        os._exit(1)  # the parent died before we got here

    def watch() -> None:
        while True:
            threading.Event().wait(WATCH_EVERY_S)
            if os.getppid() != ppid or not _alive(watched):
                log.warning("parent process %d is gone: exiting", watched)
                os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def die_with_parent_from_env() -> None:
    """In a process started by ``fortify serve --workers N`` (the parent's pid is in the env)."""
    pid = os.environ.get(PARENT_ENV, "")
    if pid.isdigit():
        die_with_parent(int(pid))
