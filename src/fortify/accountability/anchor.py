"""Audit anchors: the newest chain head (seq + hash) recorded outside the database.

The local anchor (``home/audit.anchor``) catches truncation of the newest entries;
an *external* anchor catches a rewritten chain too, because whoever rewrites the
database and the home cannot rewrite it: a file on another device or mount
(``FORTIFY_AUDIT_ANCHOR_EXTERNAL``) and/or a command that gets ``SEQ HASH`` on stdin
(``FORTIFY_AUDIT_ANCHOR_COMMAND``, e.g. ``logger -t fortify-audit`` or an append to
a write-once log).

Writes are atomic across threads and processes (a lock, a private temp file,
fsync, ``os.replace``) and never move an anchor backwards.
"""

from __future__ import annotations

import fcntl
import logging
import os
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fortify.config import Settings

log = logging.getLogger(__name__)
_LOCK = threading.Lock()
COMMAND_TIMEOUT_S = 10.0


def read_anchor(path: Path) -> tuple[int, str] | None:
    try:
        seq_s, h = path.read_text().split()
        return int(seq_s), h
    except (OSError, ValueError):
        return None


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """This thread and every other process writing the same anchor wait here."""
    with _LOCK:
        fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the flock


def write_anchor(path: Path, seq: int, hash_: str) -> bool:
    """Move the anchor at ``path`` forward to (seq, hash); True when it moved."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with _locked(path):
            current = read_anchor(path)
            if current is not None and current[0] >= seq:
                return False
            tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(f"{seq} {hash_}\n")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
            dfd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
            return True
    except OSError:  # a second line of defence, never a reason to fail the write
        log.warning("could not write audit anchor %s", path, exc_info=True)
        return False


def run_command(command: str, seq: int, hash_: str) -> bool:
    try:
        done = subprocess.run(  # the operator's own configured command
            command,
            shell=True,
            input=f"{seq} {hash_}\n",
            text=True,
            capture_output=True,
            timeout=COMMAND_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        log.warning("audit anchor command failed", exc_info=True)
        return False
    if done.returncode != 0:
        log.warning("audit anchor command exited %d: %s", done.returncode, done.stderr[-500:])
    return done.returncode == 0


def anchor_head(settings: Settings, local: Path, seq: int, hash_: str) -> None:
    """Record the head in the local anchor, then in the external ones (when it moved)."""
    moved = write_anchor(local, seq, hash_)
    if settings.audit_anchor_external is not None:
        write_anchor(settings.audit_anchor_external, seq, hash_)
    if moved and settings.audit_anchor_command:
        run_command(settings.audit_anchor_command, seq, hash_)


def anchors(settings: Settings, local: Path) -> list[tuple[str, Path]]:
    out = [("local", local)]
    if settings.audit_anchor_external is not None:
        out.append(("external", settings.audit_anchor_external))
    return out
