"""Private files under the home: created 0600 (dirs 0700), shredded on delete, checked at start.

Biometric data (photos, templates, the database, the index) and the audit anchor
must not be readable by other local accounts; a wider mode found at start-up is
logged as a warning (it is the operator's call to fix, not ours to hide).
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)

FILE_MODE = 0o600
DIR_MODE = 0o700


def make_private_dir(path: Path) -> None:
    """Create ``path`` (and parents) 0700; a folder created here is chmod-ed exactly."""
    if path.is_dir():
        return
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    os.chmod(path, DIR_MODE)


def write_private(path: Path, data: bytes, *, fsync: bool = False) -> None:
    """Write ``data`` to ``path`` with mode 0600 (whatever the umask)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        if fsync:
            os.fsync(fd)
    finally:
        os.close(fd)


def touch_private(path: Path) -> None:
    """Create an empty 0600 file if missing (SQLite gives its -wal/-shm the same mode)."""
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE))


def shred(path: Path) -> None:
    """Overwrite a file with zeros, then unlink it (best effort on journaling filesystems)."""
    try:
        size = path.stat().st_size
        with open(path, "r+b", buffering=0) as f:
            f.write(b"\0" * size)
            os.fsync(f.fileno())
    except OSError:
        pass
    path.unlink(missing_ok=True)


def too_wide(path: Path, allowed: int) -> int | None:
    """The mode of ``path`` when it grants more than ``allowed``, else None."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None
    return mode if mode & ~allowed else None


def check_permissions(home: Path, files: Iterable[Path], dirs: Iterable[Path] = ()) -> list[str]:
    """Warn (and return the warnings) for a home, folders or files open to other accounts."""
    warnings: list[str] = []
    for d in (home, *dirs):
        mode = too_wide(d, DIR_MODE)
        if mode is not None:
            warnings.append(f"{d} is mode {mode:04o}; it should be 0700 (chmod 700 {d})")
    for f in files:
        mode = too_wide(f, FILE_MODE)
        if mode is not None:
            warnings.append(f"{f} is mode {mode:04o}; it should be 0600 (chmod 600 {f})")
    for w in warnings:
        log.warning("permissions: %s", w)
    return warnings
