"""1:N search: purpose check, face template, index search, per-identity ranking, audit."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import func, select

from fortify.accountability.operators import Operator
from fortify.accountability.policy import LEAD_NOTICE, check_purpose
from fortify.engine import FacePick
from fortify.errors import FortifyError, InvalidInput, NotFound
from fortify.imaging import encode_jpeg, read_bytes
from fortify.store.tables import Encounter, Identity, Sample, TemplateRow, new_id, utcnow
from fortify.types import FaceResult

if TYPE_CHECKING:
    from fortify.gallery.core import Gallery

log = logging.getLogger(__name__)


def identify(
    self: Gallery,
    image: str | Path | bytes,
    *,
    operator: Operator,
    purpose: str | None,
    case_id: str | None = None,
    top_k: int | None = None,
    face: FacePick = None,
    channel: str = "api",
) -> dict[str, Any]:
    """Search the gallery for the face in ``image``; returns a candidate list (leads)."""
    operator.require("search")
    try:
        req = check_purpose(purpose, case_id)
    except FortifyError as exc:
        self.record_now(operator, "search.refused", "", code=exc.code, channel=channel)
        raise
    k = top_k or self.settings.default_top_k
    if not 1 <= k <= self.settings.max_top_k:
        raise InvalidInput(f"top_k must be between 1 and {self.settings.max_top_k}")
    try:
        data = read_bytes(image, self.settings.max_upload_bytes)
        rgb = self.engine.load(data)
        probe = self.engine.process(rgb, face=face)
    except FortifyError as exc:
        self.record_now(
            operator,
            "search.failed",
            "",
            code=exc.code,
            purpose=req.purpose,
            case_id=req.case_id,
            channel=channel,
        )
        raise
    self.open_index()
    candidates = _rank(self, probe, k)
    threshold = self.settings.match_threshold
    decision = "candidates" if candidates else "no_candidate"
    sid = new_id()
    now = utcnow()
    probe_path = _keep_probe(self, sid, rgb)
    result: dict[str, Any] = {
        "search_id": sid,
        "decision": decision,
        "notice": LEAD_NOTICE,
        "threshold": threshold,
        "model": probe.template.model_id,
        "model_version": probe.template.model_version,
        "created_at": now.isoformat(),
        "operator": operator.name,
        "purpose": req.purpose,
        "case_id": req.case_id,
        "gallery_size": self.index.ntotal,
        "probe": {
            "face_box": probe.detection.bbox.as_list(),
            "faces_found": probe.faces_found,
            "quality": probe.detection.quality.to_dict(),
        },
        "candidates": candidates,
    }
    retain = now + timedelta(hours=self.settings.probe_retention_hours) if probe_path else None
    with self.write() as s:
        s.add(
            Encounter(
                id=sid,
                operator=operator.name,
                purpose=req.purpose,
                case_id=req.case_id,
                channel=channel,
                created_at=now,
                decision=decision,
                threshold=threshold,
                model_id=probe.template.model_id,
                result=result,
                probe_path=probe_path,
                retain_until=retain,
            )
        )
        self.record(
            s,
            operator,
            "search",
            f"search:{sid}",
            purpose=req.purpose,
            case_id=req.case_id,
            decision=decision,
            channel=channel,
            candidates=[[c["reference"], c["score"]] for c in candidates],
        )
    return result


def _keep_probe(self: Gallery, sid: str, rgb: Any) -> str | None:
    if self.settings.probe_retention_hours <= 0:
        return None
    path = self.settings.media_dir / "probes" / f"{sid}.jpg"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(encode_jpeg(rgb))
    return str(path.relative_to(self.settings.home))


def _rank(self: Gallery, probe: FaceResult, k: int) -> list[dict[str, Any]]:
    """Best score per identity over all its templates, above threshold, top ``k``."""
    n = self.index.ntotal
    if n == 0:
        self.index.catch_up()
        n = self.index.ntotal
        if n == 0:
            return []
    kk = min(max(4 * k + 16, 32), n)
    d, ids = self.index.refresh_and_search(probe.template.vector[None, :], kk)
    hits = [(int(i), float(sc)) for i, sc in zip(ids[0], d[0], strict=True) if i >= 0]
    hits = [h for h in hits if h[1] >= self.settings.match_threshold]
    if not hits:
        return []
    with self.db.session() as s:
        rows = s.execute(
            select(TemplateRow.id, TemplateRow.identity_id, TemplateRow.sample_id).where(
                TemplateRow.id.in_([h[0] for h in hits])
            )
        ).all()
        owner = {r.id: (r.identity_id, r.sample_id) for r in rows}
        best: dict[str, tuple[float, str]] = {}
        for tid, score in hits:  # hits are in descending score order
            if tid in owner and owner[tid][0] not in best:
                best[owner[tid][0]] = (score, owner[tid][1])
        top = sorted(best.items(), key=lambda kv: -kv[1][0])[:k]
        idents = {
            i.id: i for i in s.scalars(select(Identity).where(Identity.id.in_([t[0] for t in top])))
        }
        counts = dict(
            s.execute(
                select(TemplateRow.identity_id, func.count())
                .where(TemplateRow.identity_id.in_(list(idents)))
                .group_by(TemplateRow.identity_id)
            ).all()
        )
        out: list[dict[str, Any]] = []
        for iid, (score, sample_id) in top:
            ident = idents.get(iid)
            if ident is None:  # deleted between index search and now
                continue
            photo = s.scalar(
                select(Sample.id)
                .where(Sample.identity_id == iid, Sample.image_path.is_not(None))
                .order_by(Sample.captured_at.desc())
                .limit(1)
            )
            out.append(
                {
                    "rank": len(out) + 1,
                    "identity_id": iid,
                    "reference": ident.reference,
                    "display_name": ident.display_name,
                    "synthetic": ident.synthetic,
                    "source": ident.source.name,
                    "score": round(float(np.clip(score, -1.0, 1.0)), 4),
                    "matched_sample_id": sample_id,
                    "photo_sample_id": photo,
                    "photo_url": f"/v1/samples/{photo}/image" if photo else None,
                    "samples_compared": int(counts.get(iid, 0)),
                    "attributes": ident.attributes,
                }
            )
    return out


def get_search(self: Gallery, search_id: str, *, operator: Operator) -> dict[str, Any]:
    with self.db.session() as s:
        enc = s.get(Encounter, search_id)
        if enc is None or (not operator.can("searches.read_all") and enc.operator != operator.name):
            raise NotFound(f"no search '{search_id}'", search_id=search_id)
        result = dict(enc.result)
    self.record_now(operator, "search.view", f"search:{search_id}")
    return result


def list_searches(
    self: Gallery,
    *,
    operator: Operator,
    limit: int = 50,
    offset: int = 0,
    operator_name: str | None = None,
    case_id: str | None = None,
) -> list[dict[str, Any]]:
    """Encounter summaries: officers see their own, supervisors and auditors all."""
    q = select(Encounter).order_by(Encounter.created_at.desc()).limit(limit).offset(offset)
    if not operator.can("searches.read_all"):
        q = q.where(Encounter.operator == operator.name)
    elif operator_name:
        q = q.where(Encounter.operator == operator_name)
    if case_id:
        q = q.where(Encounter.case_id == case_id)
    with self.db.session() as s:
        return [
            {
                "search_id": e.id,
                "operator": e.operator,
                "purpose": e.purpose,
                "case_id": e.case_id,
                "created_at": e.created_at.isoformat(),
                "decision": e.decision,
                "channel": e.channel,
                "candidates": len(e.result.get("candidates", [])),
                "probe_retained": e.probe_path is not None,
            }
            for e in s.scalars(q)
        ]
