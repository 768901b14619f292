"""Retention: probe images of searches with no confirmed match are purged when due."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy import select

from fortify.accountability.operators import Operator
from fortify.store.tables import Encounter, EncounterCapture, utcnow

if TYPE_CHECKING:
    from fortify.gallery.core import Gallery

log = logging.getLogger(__name__)

SYSTEM = Operator(name="system:retention", role="admin", kind="local")


def purge_expired(self: Gallery) -> int:
    """Delete probe images past ``retain_until`` with no confirmed match; audited."""
    now = utcnow()
    with self.write() as s:
        due = s.scalars(
            select(Encounter).where(
                Encounter.retain_until.is_not(None),
                Encounter.retain_until <= now,
                Encounter.probe_path.is_not(None),
                Encounter.confirmed_identity_id.is_(None),
            )
        ).all()
        paths = [self.settings.home / e.probe_path for e in due if e.probe_path]
        ids = [e.id for e in due]
        for c in (
            s.scalars(select(EncounterCapture).where(EncounterCapture.encounter_id.in_(ids)))
            if ids
            else []
        ):
            if c.probe_path:
                paths.append(self.settings.home / c.probe_path)
            c.probe_path = None
            c.template = None
        for e in due:
            e.probe_path = None
            e.retain_until = None
        if due:
            self.record(
                s,
                SYSTEM,
                "retention.purge",
                "",
                purged=len(due),
                searches=[e.id for e in due][:1000],
            )
    for p in paths:
        p.unlink(missing_ok=True)
    from fortify.gallery.query import purge_query_payloads  # Super Query record payloads

    purge_query_payloads(self)
    if due:
        log.info("purged %d probe images", len(due))
    from fortify.gallery.documents import purge_expired_documents

    return len(due) + purge_expired_documents(self)
