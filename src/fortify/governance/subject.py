"""Subject access and redress: what is held about a person, which searches returned them,
and corrections/disputes recorded against the record (shown on every later candidate card).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from fortify.accountability.operators import Operator
from fortify.errors import InvalidInput, NotFound
from fortify.gallery.records import identity_dict
from fortify.governance.duties import disputes_of
from fortify.store.tables import AuditEvent, Dispute, Identity, Source

if TYPE_CHECKING:
    from fortify.gallery.core import Gallery

KINDS = ("dispute", "correction")
MAX_TEXT = 2000
SEARCH_ACTIONS = ("search", "search.capture")


def find_identity(
    g: Gallery, *, identity_id: str | None, reference: str | None, source: str | None
) -> str:
    if bool(identity_id) == bool(reference):
        raise InvalidInput("give either an identity id or a reference")
    with g.db.session() as s:
        if identity_id:
            if s.get(Identity, identity_id) is None:
                raise NotFound(f"no identity '{identity_id}'", identity_id=identity_id)
            return identity_id
        q = select(Identity.id, Source.name).join(Source).where(Identity.reference == reference)
        if source:
            q = q.where(Source.name == source)
        rows = s.execute(q).all()
    if not rows:
        raise NotFound(f"no identity with reference '{reference}'", reference=reference)
    if len(rows) > 1:
        raise InvalidInput(
            f"reference '{reference}' is held in several sources ("
            + ", ".join(r[1] for r in rows)
            + "); name one with --source",
            reference=reference,
        )
    return str(rows[0][0])


def _trail(g: Gallery, identity_id: str, reference: str) -> list[dict[str, Any]]:
    """Audit entries about this identity: searches that returned it, views, changes."""
    out: list[dict[str, Any]] = []
    with g.db.session() as s:
        rows = s.scalars(
            select(AuditEvent)
            .where(
                or_(
                    AuditEvent.target == f"identity:{identity_id}",
                    AuditEvent.details.contains(identity_id),
                    AuditEvent.details.contains(json.dumps(reference)),
                )
            )
            .order_by(AuditEvent.seq)
        ).all()
    for e in rows:
        try:
            d = json.loads(e.details)
        except ValueError:
            d = {}
        item: dict[str, Any] = {
            "seq": e.seq,
            "ts": e.ts,
            "actor": e.actor,
            "action": e.action,
            "target": e.target,
        }
        if e.action in SEARCH_ACTIONS:
            hits = [c for c in d.get("candidates", []) if c and c[0] == reference]
            if not hits:
                continue
            item.update(
                score=hits[0][1],
                purpose=d.get("purpose"),
                case_id=d.get("case_id"),
                purpose_category=d.get("purpose_category"),
                channel=d.get("channel"),
            )
        elif e.target != f"identity:{identity_id}" and d.get("identity_id") != identity_id:
            continue
        out.append(item)
    return out


def subject_report(
    g: Gallery,
    *,
    operator: Operator,
    identity_id: str | None = None,
    reference: str | None = None,
    source: str | None = None,
    photos_dir: Path | None = None,
) -> dict[str, Any]:
    """Records and photos held, disputes, and the audit trail of searches that returned them."""
    operator.require("users.manage")  # a person asks through an administrator
    iid = find_identity(g, identity_id=identity_id, reference=reference, source=source)
    with g.db.session() as s:
        ident = s.get(Identity, iid, options=[selectinload(Identity.samples)])
        assert ident is not None
        record = identity_dict(ident)
        photos: list[dict[str, Any]] = [
            {
                "sample_id": sm.id,
                "captured_at": sm.captured_at.isoformat(),
                "sha256": sm.image_sha256,
                "image_held": sm.image_path is not None,
                "path": sm.image_path,
            }
            for sm in ident.samples
        ]
        disputes = disputes_of(s, [iid]).get(iid, [])
        ref = ident.reference
    trail = _trail(g, iid, ref)
    if photos_dir is not None:
        photos_dir.mkdir(parents=True, exist_ok=True)
        for p in photos:
            if p["path"] and (g.settings.home / p["path"]).is_file():
                dest = photos_dir / f"{p['sample_id']}.jpg"
                shutil.copyfile(g.settings.home / p["path"], dest)
                p["copied_to"] = str(dest)
    for p in photos:
        p.pop("path")
    g.record_now(
        operator,
        "subject.report",
        f"identity:{iid}",
        searches=sum(1 for t in trail if t["action"] in SEARCH_ACTIONS),
    )
    return {
        "identity": record,
        "photos": photos,
        "disputes": disputes,
        "searches": [t for t in trail if t["action"] in SEARCH_ACTIONS],
        "other_audit_entries": [t for t in trail if t["action"] not in SEARCH_ACTIONS],
    }


def record_dispute(
    g: Gallery, identity_id: str, *, operator: Operator, text: str, kind: str = "dispute"
) -> dict[str, Any]:
    """A correction or dispute against a record; every later candidate card shows it."""
    operator.require("enroll")
    if kind not in KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(KINDS)}", kind=kind)
    t = (text or "").strip()
    if len(t) < 3 or len(t) > MAX_TEXT:
        raise InvalidInput(f"the text must be 3 to {MAX_TEXT} characters")
    with g.write() as s:
        if s.get(Identity, identity_id) is None:
            raise NotFound(f"no identity '{identity_id}'", identity_id=identity_id)
        d = Dispute(
            identity_id=identity_id, kind=kind, text=t, status="open", recorded_by=operator.name
        )
        s.add(d)
        s.flush()
        g.record(
            s, operator, "dispute.record", f"identity:{identity_id}", kind=kind, dispute_id=d.id
        )
        return {
            "dispute_id": d.id,
            "identity_id": identity_id,
            "kind": kind,
            "text": t,
            "status": "open",
        }
