"""1:N search: purpose check, face template, index search, per-identity ranking, audit.

An encounter may hold several captures of one person: their templates are fused
(normalised mean) for the ranking, and each capture is also ranked on its own so
that disagreement ("the top candidates differ") is flagged, never hidden.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from fortify.accountability.authorize import authorize, check_training
from fortify.accountability.operators import Operator
from fortify.accountability.policy import LEAD_NOTICE, SearchRequest
from fortify.errors import FortifyError, InvalidInput, NotFound
from fortify.gallery.captures import capture_row, published, retain_until
from fortify.gallery.doc_capture import carry_document
from fortify.gallery.fused import fused_audit, fused_ranking
from fortify.gallery.oversight import make_filter, scoped, summary_row
from fortify.gallery.ranking import (
    consistency,
    decision_threshold,
    rank_candidates,
)
from fortify.gallery.rowdigest import encounter_digest
from fortify.governance.duties import annotate_disputes, check_confirmer
from fortify.imaging import read_bytes
from fortify.modalities.base import AcquireOptions, Acquisition
from fortify.modalities.base import finger_position as finger_code
from fortify.modalities.face.engine import FacePick
from fortify.store.tables import Encounter, EncounterCapture, new_id, utcnow
from fortify.templates.codec import decode
from fortify.types import Template

if TYPE_CHECKING:
    from fortify.gallery.core import Gallery

log = logging.getLogger(__name__)
MAX_CAPTURES = 5
MODALITIES_DISAGREE = (
    "The modalities point at different top candidates: do not rely on this result."
)


def _acquire(
    self: Gallery,
    image: str | Path | bytes,
    options: AcquireOptions,
    modality: str,
    operator: Operator,
    audit: dict[str, Any],
) -> list[Acquisition]:
    """One upload of any modality -> its captures (a four-finger slap: one per finger).

    A failure is audited, nothing stored.
    """
    try:
        data = read_bytes(image, self.settings.max_upload_bytes)
        return self.modality(modality).acquire_all(data, options)
    except FortifyError as exc:
        self.record_now(
            operator,
            "search.failed",
            audit.pop("target", ""),
            code=exc.code,
            modality=modality,
            **audit,
        )
        raise


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
    category: str | None = None,
    approval_id: str | None = None,
    place: str | None = None,
    modality: str = "face",
    finger_position: str | int | None = None,
) -> dict[str, Any]:
    """Search the gallery (face, finger, ...) with ``image``; returns candidates (leads)."""
    operator.require("search")
    auth = authorize(
        self,
        operator,
        purpose,
        case_id,
        channel=channel,
        category=category,
        approval_id=approval_id,
        place=place,
    )  # the one door: training, purpose, use policy (audits refusals)
    req = auth.request
    k = top_k or self.settings.default_top_k
    if not 1 <= k <= self.settings.max_top_k:
        raise InvalidInput(f"top_k must be between 1 and {self.settings.max_top_k}")
    audit_ctx = {"purpose": req.purpose, "case_id": req.case_id, "channel": channel}
    try:
        options = AcquireOptions(face=face, finger_position=finger_code(finger_position))
    except FortifyError as exc:
        self.record_now(operator, "search.failed", "", code=exc.code, **audit_ctx)
        raise
    probes = _acquire(self, image, options, modality, operator, audit_ctx)
    modality = probes[0].modality
    self.open_modality_index(modality)
    sid = new_id()
    now = utcnow()
    result = _result(self, sid, operator, req, k, probes, now, channel, modality=modality)
    result["purpose_category"] = auth.category
    made = [capture_row(self, sid, i + 1, p, result, i) for i, p in enumerate(probes)]
    capture = made[0][0]
    with published(made), self.write() as s:
        enc = Encounter(
            id=sid,
            operator=operator.name,
            purpose=req.purpose,
            case_id=req.case_id,
            channel=channel,
            created_at=now,
            decision=result["decision"],
            threshold=result["threshold"],
            model_id=probes[0].template.model_id,
            result=result,
            probe_path=capture.probe_path,
            retain_until=retain_until(self, now, capture),
        )
        s.add(enc)
        s.add_all([c for c, _ in made])
        self.record(
            s,
            operator,
            "search",
            f"search:{sid}",
            purpose=req.purpose,
            case_id=req.case_id,
            decision=result["decision"],
            channel=channel,
            modality=modality,
            captures=len(probes),
            candidates=[[c["reference"], c["score"]] for c in result["candidates"]],
            **auth.audit(),
            rows={f"encounter:{sid}": encounter_digest(enc)},
        )
    return result


def add_capture(
    self: Gallery,
    search_id: str,
    image: str | Path | bytes,
    *,
    operator: Operator,
    face: FacePick = None,
    channel: str = "api",
    modality: str = "face",
    finger_position: str | int | None = None,
) -> dict[str, Any]:
    """Add another capture of the same person to an encounter and search again, fused.

    The capture may be of another modality (a finger after a face): the captures of
    each modality are ranked together, and the modalities' top candidates compared.
    """
    operator.require("search")
    check_training(self, operator, channel=channel, target=f"search:{search_id}")
    with self.db.session() as s:
        enc = s.get(Encounter, search_id)
        if enc is None or enc.operator != operator.name:
            raise NotFound(f"no search '{search_id}' of yours", search_id=search_id)
        rows = s.scalars(
            select(EncounterCapture)
            .where(EncounterCapture.encounter_id == search_id)
            .order_by(EncounterCapture.seq)
        ).all()
        req = SearchRequest(enc.purpose, enc.case_id)
        k = len(enc.result.get("candidates", [])) or self.settings.default_top_k
        k = max(k, int(enc.result.get("top_k", k)))
        created = enc.created_at
    if len(rows) >= MAX_CAPTURES:
        raise InvalidInput(f"an encounter holds at most {MAX_CAPTURES} captures")
    free = MAX_CAPTURES - len(rows)
    if any(r.template is None and r.modality != "document" for r in rows):  # documents: none
        raise InvalidInput("the earlier captures of this search were purged (retention)")
    audit_ctx = {"target": f"search:{search_id}", "channel": channel, "capture": len(rows) + 1}
    try:
        options = AcquireOptions(face=face, finger_position=finger_code(finger_position))
    except FortifyError as exc:
        self.record_now(operator, "search.failed", f"search:{search_id}", code=exc.code)
        raise
    probes = _acquire(self, image, options, modality, operator, audit_ctx)
    if len(probes) > free:
        raise InvalidInput(
            f"an encounter holds at most {MAX_CAPTURES} captures; {len(probes)} fingers "
            f"found, room for {free}"
        )
    probe = probes[-1]
    modality = probe.modality
    self.open_modality_index(modality)
    earlier = [decode(r.template) for r in rows if r.template is not None]
    same = [t for t in earlier if t.modality == modality] + [p.template for p in probes]
    result = _result(
        self,
        search_id,
        operator,
        req,
        k,
        same,
        created,
        channel,
        probe_info=probe,
        modality=modality,
    )
    others = {t.modality for t in earlier} - {modality}
    if others:
        cross_modality(self, result, earlier, req, k, created, operator, channel)
    n = len(probes)
    made = [
        capture_row(self, search_id, len(rows) + 1 + i, p, result, i - n)
        for i, p in enumerate(probes)
    ]
    with published(made), self.write() as s:
        enc = s.get(Encounter, search_id)
        if enc is None:
            raise NotFound(f"no search '{search_id}'", search_id=search_id)
        result["purpose_category"] = (enc.result or {}).get("purpose_category")
        carry_document(result, enc.result)  # a document capture's section, re-checked
        enc.result = result
        enc.decision = result["decision"]
        enc.threshold = result["threshold"]
        s.add_all([c for c, _ in made])
        self.record(
            s,
            operator,
            "search.capture",
            f"search:{search_id}",
            capture=made[0][0].seq,
            captures=n,
            decision=result["decision"],
            agree=result["consistency"]["agree"],
            candidates=[[c["reference"], c["score"]] for c in result["candidates"]],
            **fused_audit(result),
            rows={f"encounter:{search_id}": encounter_digest(enc)},
        )
    return result


def _result(
    self: Gallery,
    sid: str,
    operator: Operator,
    req: SearchRequest,
    k: int,
    captures: list[Any],
    created: datetime,
    channel: str,
    probe_info: Acquisition | None = None,
    modality: str = "face",
) -> dict[str, Any]:
    """Rank the captures of one modality (fused as the modality fuses them)."""
    templates = [c.template if isinstance(c, Acquisition) else c for c in captures]
    last = probe_info or (captures[-1] if isinstance(captures[-1], Acquisition) else None)
    mod = self.modality(modality)
    index = self.index_for(modality)
    threshold, source, limited, basis = decision_threshold(self, modality)
    candidates = rank_candidates(self, mod.fuse(templates), k, threshold, modality)
    candidates = annotate_disputes(self, candidates)
    probes: list[Any] = templates if mod.search_shortlist else [t.vector for t in templates]
    result: dict[str, Any] = {
        "search_id": sid,
        "decision": "candidates" if candidates else "no_candidate",
        "notice": LEAD_NOTICE,
        "threshold": round(threshold, 4),
        "threshold_source": source,
        "target_fpir": self.settings.target_fpir if source == "calibrated" else None,
        "threshold_resolution_limited": limited,
        "calibration_basis": basis,
        "model": index.model_id,
        "model_version": last.template.model_version if last else "",
        "created_at": created.isoformat(),
        "operator": operator.name,
        "purpose": req.purpose,
        "case_id": req.case_id,
        "channel": channel,
        "top_k": k,
        "gallery_size": index.ntotal,
        "modality": modality,
        "probe": {
            "face_box": last.box if last else [],
            "faces_found": last.found if last else 0,
            "quality": last.quality if last else {},
            "modality": modality,
            "finger_position": last.template.finger_position if last else 0,
        },
        "captures": len(templates),
        "consistency": consistency(self, probes, threshold, candidates, modality),
        "candidates": candidates,
    }
    return result


def cross_modality(
    self: Gallery,
    result: dict[str, Any],
    earlier: list[Template],
    req: SearchRequest,
    k: int,
    created: datetime,
    operator: Operator,
    channel: str,
) -> None:
    """An encounter with captures of several modalities: rank each, flag disagreement.

    The result's main ranking is the newest capture's modality; ``by_modality``
    holds each modality's decision and top candidate; ``fused`` one ranking over
    all modalities with one estimated FPIR per candidate.
    """
    by: dict[str, Any] = {}
    full: dict[str, dict[str, Any]] = {result["modality"]: result}
    groups: dict[str, list[Template]] = {}
    for t in earlier:
        groups.setdefault(t.modality, []).append(t)
    for name, temps in groups.items():
        if name == result["modality"]:
            continue
        self.open_modality_index(name)
        r = _result(
            self, result["search_id"], operator, req, k, temps, created, channel, modality=name
        )
        by[name] = _modality_summary(r)
        full[name] = r
    by[result["modality"]] = _modality_summary(result)
    result["by_modality"] = by
    result["fused"] = fused_ranking(self, full, k)  # one ranking, one FPIR (matching/fusion.py)
    tops = {v["top_identity_id"] for v in by.values()}
    if len(tops) > 1 and result["consistency"]["agree"]:
        result["consistency"]["agree"] = False
        result["consistency"]["warning"] = MODALITIES_DISAGREE


def _modality_summary(r: dict[str, Any]) -> dict[str, Any]:
    top = r["candidates"][0] if r["candidates"] else None
    return {
        "decision": r["decision"],
        "captures": r["captures"],
        "threshold": r["threshold"],
        "model": r["model"],
        "top_identity_id": top["identity_id"] if top else None,
        "top_score": top["score"] if top else None,
        "candidates": r["candidates"],
    }


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
    f = make_filter(operator=operator_name, case_id=case_id)
    q = scoped(select(Encounter), operator, f)
    q = q.order_by(Encounter.created_at.desc()).limit(limit).offset(offset)
    with self.db.session() as s:
        rows = [
            {
                **summary_row(e),
                "agree": bool((e.result.get("consistency") or {}).get("agree", True)),
            }
            for e in s.scalars(q)
        ]
    self.record_now(
        operator, "searches.list", "", limit=limit, offset=offset, returned=len(rows), **f.to_dict()
    )
    return rows


def confirm_match(
    self: Gallery, search_id: str, identity_id: str, *, operator: Operator, note: str = ""
) -> dict[str, Any]:
    """Record that a candidate was confirmed by independent checks (supervisor decision).

    The encounter's probe images and templates are then kept (no retention purge);
    the confirmation itself is an audit entry.
    """
    operator.require("enroll")  # supervisors and admins confirm, not the searching officer
    check_confirmer(self, search_id, operator)  # separation of duties (refusals audited)
    with self.write() as s:
        enc = s.get(Encounter, search_id)
        if enc is None:
            raise NotFound(f"no search '{search_id}'", search_id=search_id)
        listed = {c["identity_id"] for c in enc.result.get("candidates", [])}
        if identity_id not in listed:
            raise InvalidInput(
                "only a candidate of this search can be confirmed", identity_id=identity_id
            )
        enc.confirmed_identity_id = identity_id
        enc.retain_until = None
        result = dict(enc.result)
        result["confirmed_identity_id"] = identity_id
        enc.result = result
        self.record(
            s,
            operator,
            "search.confirm",
            f"search:{search_id}",
            identity_id=identity_id,
            note=note[:500],
            rows={f"encounter:{search_id}": encounter_digest(enc)},
        )
    return result
