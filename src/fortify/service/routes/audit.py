"""Audit-chain verification and export (auditor and admin roles)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import select

from fortify.service.deps import GalleryDep, OperatorDep
from fortify.service.routes.common import ERRORS, MAX_SEQ
from fortify.service.schemas import AuditVerifyPublic
from fortify.store.tables import AuditEvent

router = APIRouter(tags=["audit"], responses=ERRORS)


@router.get("/audit/verify", response_model=AuditVerifyPublic, operation_id="audit-verify")
def verify(gallery: GalleryDep, operator: OperatorDep, deep: bool = False) -> AuditVerifyPublic:
    """Walk the hash chain; names the first bad entry if any was edited, deleted or moved.

    ``deep=true`` also checks identity, sample and encounter rows against their audit digests.
    """
    return AuditVerifyPublic(**gallery.verify_audit(operator=operator, deep=deep).to_dict())


@router.get("/audit/events", operation_id="audit-events")
def events(
    gallery: GalleryDep,
    operator: OperatorDep,
    after_seq: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Export a page of the audit log (the export itself is audited)."""
    operator.require("audit.read")
    with gallery.db.session() as s:
        rows = s.scalars(
            select(AuditEvent)
            .where(AuditEvent.seq > after_seq)
            .order_by(AuditEvent.seq)
            .limit(limit)
        ).all()
        items = [
            {
                "seq": e.seq,
                "ts": e.ts,
                "actor": e.actor,
                "action": e.action,
                "target": e.target,
                "details": e.details,
                "prev_hash": e.prev_hash,
                "hash": e.hash,
            }
            for e in rows
        ]
    gallery.record_now(operator, "audit.export", "", after_seq=after_seq, returned=len(items))
    return {"items": items}
