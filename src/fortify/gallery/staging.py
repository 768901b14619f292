"""Crash-safe photo files: staged before the commit, published after, swept at start.

A photo is written to ``media/staging/<pid>-<final path with / as __>`` before its
row commits and moved into place (``os.replace``) after. A crash in between
leaves only a staging file, which the next start-up either publishes (its row
committed) or deletes (it did not), so no orphan photo and no dangling row.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import or_, select

from fortify.store.files import make_private_dir, shred, write_private
from fortify.store.tables import Encounter, EncounterCapture, Sample

if TYPE_CHECKING:
    from fortify.gallery.core import Gallery

log = logging.getLogger(__name__)


def staging_dir(self: Gallery) -> Path:
    return self.settings.media_dir / "staging"


def stage(self: Gallery, final: Path, data: bytes) -> Path:
    """Write ``data`` (0600, fsync) to the staging file of ``final``; returns its path."""
    d = staging_dir(self)
    make_private_dir(d)
    rel = final.relative_to(self.settings.home).as_posix().replace("/", "__")
    tmp = d / f"{os.getpid()}-{rel}"
    write_private(tmp, data, fsync=True)
    return tmp


def publish(staged: Path, final: Path) -> None:
    make_private_dir(final.parent)
    os.replace(staged, final)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # at start-up this process has staged nothing yet
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep(self: Gallery) -> dict[str, int]:
    """Publish staged files whose row committed, delete the others (dead writers only)."""
    d = staging_dir(self)
    out = {"published": 0, "deleted": 0}
    if not d.is_dir():
        return out
    for f in sorted(d.iterdir()):
        pid_s, _, rel_s = f.name.partition("-")
        if not pid_s.isdigit() or not rel_s:
            continue
        if _alive(int(pid_s)):
            continue
        rel = rel_s.replace("__", "/")
        with self.db.session() as s:
            owned = (
                s.scalar(select(Sample.id).where(Sample.image_path == rel))
                or s.scalar(select(EncounterCapture.id).where(EncounterCapture.probe_path == rel))
                or s.scalar(select(Encounter.id).where(or_(Encounter.probe_path == rel)))
            )
        final = self.settings.home / rel
        if owned and not final.exists():
            publish(f, final)
            out["published"] += 1
        else:
            shred(f)
            out["deleted"] += 1
    if out["published"] or out["deleted"]:
        log.warning("crash recovery: staged photos %s", out)
    return out


@contextmanager
def published(staged: tuple[Path, Path] | None) -> Iterator[None]:
    """Around a write transaction: publish the staged file after it commits, else drop it."""
    try:
        yield
    except BaseException:
        if staged is not None:
            shred(staged[0])
        raise
    if staged is not None:
        publish(*staged)
