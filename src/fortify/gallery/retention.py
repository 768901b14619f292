"""Retention: probe photos AND probe templates of unconfirmed searches are purged when due.

``FORTIFY_PROBE_RETENTION_HOURS=0`` keeps nothing beyond the request: no probe photo
is written and no probe template is stored. Otherwise both are kept until
``retain_until`` and then purged, unless a supervisor confirmed a match. No
setting means "forever": an unconfirmed encounter with no ``retain_until`` (rows
from before this rule) is purged on the next run too. After a purge or deletion
the SQLite WAL is checkpointed and truncated and the index saved
(:func:`fortify.gallery.hardening.scrub`), so the bytes do not linger.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy import or_, select

from fortify.accountability.operators import Operator
from fortify.store.files import shred
from fortify.store.tables import Encounter, EncounterCapture, utcnow

if TYPE_CHECKING:
    from fortify.gallery.core import Gallery

log = logging.getLogger(__name__)

SYSTEM = Operator(name="system:retention", role="admin", kind="local")


def purge_expired(self: Gallery) -> int:
    """Delete probe photos and templates past ``retain_until`` with no confirmed match."""
    from fortify.gallery.hardening import scrub

    now = utcnow()
    due_enc = Encounter.confirmed_identity_id.is_(None) & or_(
        Encounter.retain_until.is_(None), Encounter.retain_until <= now
    )
    with self.write() as s:
        caps = s.scalars(
            select(EncounterCapture)
            .join(Encounter, Encounter.id == EncounterCapture.encounter_id)
            .where(
                due_enc,
                or_(
                    EncounterCapture.template.is_not(None), EncounterCapture.probe_path.is_not(None)
                ),
            )
        ).all()
        encs = s.scalars(select(Encounter).where(due_enc, Encounter.probe_path.is_not(None))).all()
        paths = [self.settings.home / e.probe_path for e in encs if e.probe_path]
        for c in caps:
            if c.probe_path:
                paths.append(self.settings.home / c.probe_path)
            c.probe_path = None
            c.template = None
        for e in encs:
            e.probe_path = None
        ids = sorted({c.encounter_id for c in caps} | {e.id for e in encs})
        if ids:
            self.record(
                s,
                SYSTEM,
                "retention.purge",
                "",
                purged=len(ids),
                searches=ids[:1000],
            )
    for p in sorted(set(paths)):
        shred(p)
    from fortify.gallery.query import purge_query_payloads  # Super Query record payloads

    purge_query_payloads(self)
    if ids:
        log.info("purged the probes of %d searches", len(ids))
        self.scrub_due = True
    from fortify.gallery.documents import purge_expired_documents

    n_documents = purge_expired_documents(self)
    scrub(self)
    return len(ids) + n_documents
