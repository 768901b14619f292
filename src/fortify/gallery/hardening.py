"""Start-up checks and storage hygiene of a gallery (issue 8).

At start-up: warn about a home or files open to other accounts, and finish or
undo photo writes a crash interrupted. After deletions and purges: checkpoint
and truncate the SQLite WAL and save the index, so deleted biometric bytes do not
outlive the next purge run.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from fortify.gallery import staging
from fortify.gallery.optout import opt_out_identity
from fortify.gallery.references import SALT_FILE
from fortify.store.files import check_permissions
from fortify.store.secure import checkpoint_truncate

if TYPE_CHECKING:
    from fortify.gallery.core import Gallery

__all__ = ["opt_out_identity", "scrub", "start_up"]
log = logging.getLogger(__name__)


def start_up(self: Gallery) -> None:
    st = self.settings
    home = st.home
    files = [
        home / name
        for name in ("fortify.db", "fortify.db-wal", "fortify.db-shm", "audit.anchor", SALT_FILE)
    ]
    files += sorted(st.index_dir.glob("*")) if st.index_dir.is_dir() else []
    check_permissions(
        home,
        [f for f in files if f.exists()],
        [st.media_dir, st.index_dir, st.media_dir / "samples"],
    )
    staging.sweep(self)


def scrub(self: Gallery, force: bool = False) -> None:
    """Save the index (removed vectors leave the file) and truncate the WAL."""
    if not (self.scrub_due or force):
        return
    if self._opened is not None:
        self.index.catch_up()
        self.index.save()
    if checkpoint_truncate(self.db.engine):
        self.scrub_due = False
