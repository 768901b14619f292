"""Identity records: list, view, delete; sample photos; audit-chain verification."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from fortify.accountability import audit
from fortify.accountability.anchor import anchors
from fortify.accountability.operators import Operator
from fortify.errors import NotFound
from fortify.gallery.rowdigest import deep_verify
from fortify.governance.duties import require_reason
from fortify.store.files import shred
from fortify.store.tables import ChangeLog, Identity, Sample, Source, TemplateRow

if TYPE_CHECKING:
    from fortify.gallery.core import Gallery

log = logging.getLogger(__name__)


def identity_dict(ident: Identity, samples: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "identity_id": ident.id,
        "reference": ident.reference,
        "source": ident.source.name,
        "display_name": ident.display_name,
        "synthetic": ident.synthetic,
        "attributes": ident.attributes,
        "created_at": ident.created_at.isoformat(),
    }
    if samples:
        out["samples"] = [
            {
                "sample_id": sm.id,
                "captured_at": sm.captured_at.isoformat(),
                "has_image": sm.image_path is not None,
                "quality": sm.quality,
            }
            for sm in ident.samples
        ]
    return out


def list_identities(
    self: Gallery,
    *,
    operator: Operator,
    limit: int = 50,
    offset: int = 0,
    source: str | None = None,
    reference: str | None = None,
) -> dict[str, Any]:
    operator.require("identities.read")
    q = select(Identity).options(selectinload(Identity.samples))
    count_q = select(func.count()).select_from(Identity)
    if source:
        q = q.join(Identity.source).where(Source.name == source)
        count_q = count_q.join(Source).where(Source.name == source)
    if reference:
        q = q.where(Identity.reference == reference)
        count_q = count_q.where(Identity.reference == reference)
    with self.db.session() as s:
        total = int(s.scalar(count_q) or 0)
        items = [
            identity_dict(i)
            for i in s.scalars(
                q.order_by(Identity.created_at, Identity.id).limit(limit).offset(offset)
            )
        ]
    self.record_now(operator, "identity.list", "", limit=limit, offset=offset, returned=len(items))
    return {"total": total, "items": items}


def get_identity(self: Gallery, identity_id: str, *, operator: Operator) -> dict[str, Any]:
    operator.require("identities.read")
    with self.db.session() as s:
        ident = s.get(Identity, identity_id, options=[selectinload(Identity.samples)])
        if ident is None:
            raise NotFound(f"no identity '{identity_id}'", identity_id=identity_id)
        out = identity_dict(ident)
    self.record_now(operator, "identity.view", f"identity:{identity_id}")
    return out


def delete_identity(
    self: Gallery, identity_id: str, *, operator: Operator, reason: str = ""
) -> dict[str, Any]:
    """Delete an identity, its samples, templates and image files.

    Template removals go into the change log in the same transaction, and the
    in-process index applies them before this returns, so a deleted identity
    never appears in a later search.
    """
    operator.require("delete")
    reason = require_reason(reason, "deleting a record")
    files: list[Path] = []
    with self.write() as s:
        ident = s.get(Identity, identity_id, options=[selectinload(Identity.samples)])
        if ident is None:
            raise NotFound(f"no identity '{identity_id}'", identity_id=identity_id)
        ref = ident.reference
        templates = s.execute(
            select(TemplateRow.id, TemplateRow.model_id).where(
                TemplateRow.identity_id == identity_id
            )
        ).all()
        for t in templates:
            s.add(ChangeLog(template_id=t.id, model_id=t.model_id, op="remove"))
        files = [self.settings.home / sm.image_path for sm in ident.samples if sm.image_path]
        gone: dict[str, str | None] = {f"identity:{identity_id}": None}
        gone.update({f"sample:{sm.id}": None for sm in ident.samples})
        s.delete(ident)
        self.record(
            s,
            operator,
            "identity.delete",
            f"identity:{identity_id}",
            reference=ref,
            templates=len(templates),
            reason=reason,
            rows=gone,
        )
    for index in list(self.indexes.values()):  # one index per modality
        index.catch_up()
    for f in files:
        shred(f)
    self.scrub_due = True  # the next purge run checkpoints the WAL and saves the index
    return {"identity_id": identity_id, "deleted_templates": len(templates)}


def sample_image(self: Gallery, sample_id: str, *, operator: Operator) -> bytes:
    operator.require("identities.read")
    with self.db.session() as s:
        sm = s.get(Sample, sample_id)
        if sm is None or sm.image_path is None:
            raise NotFound(f"no image for sample '{sample_id}'", sample_id=sample_id)
        path = self.settings.home / sm.image_path
        identity_id = sm.identity_id
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise NotFound(f"image file of sample '{sample_id}' is missing") from exc
    self.record_now(operator, "sample.view", f"sample:{sample_id}", identity_id=identity_id)
    return data


def verify_audit(self: Gallery, *, operator: Operator, deep: bool = False) -> audit.VerifyReport:
    """Walk the chain against every anchor; ``deep`` also checks rows against their digests."""
    operator.require("audit.read")
    with self.db.session() as s:
        report = audit.verify_anchored(s, anchors(self.settings, self.anchor_path))
        if report.ok and deep:
            rows = deep_verify(s)
            if not rows.ok:
                report = audit.VerifyReport(
                    False,
                    report.entries,
                    report.head_seq,
                    report.head_hash,
                    first_bad_seq=None,
                    reason="rows do not match the audit log: " + "; ".join(rows.problems[:5]),
                )
    if report.ok:  # a broken chain is reported, never extended
        self.record_now(operator, "audit.verify", "", ok=True, entries=report.entries, deep=deep)
    return report
