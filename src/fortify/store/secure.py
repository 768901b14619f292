"""Deleted biometric bytes must not linger: SQLite secure_delete + WAL truncation.

``PRAGMA secure_delete=ON`` (set on every connection, see :mod:`fortify.store.db`)
overwrites freed pages with zeros; :func:`checkpoint_truncate` copies the WAL back
into the database and truncates it, so old page images holding purged templates
are gone after the next purge run.
"""

from __future__ import annotations

import logging

from sqlalchemy.engine import Engine as SAEngine

log = logging.getLogger(__name__)


def checkpoint_truncate(engine: SAEngine) -> bool:
    """Checkpoint and truncate the SQLite WAL; True when it completed (False: busy/not SQLite)."""
    if engine.dialect.name != "sqlite":
        return True
    with engine.connect() as conn:
        row = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    busy = bool(row and row[0])
    if busy:
        log.warning("WAL checkpoint was busy; deleted pages stay in the WAL until the next run")
    return not busy
