"""A document scan is a search: purpose + operator, read the document, look the holder up,
compare the portrait with the live face, audit, keep the result in an Encounter (retention as
for probes). Bad input leaves nothing but the audited failed attempt.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import or_, select

from fortify.accountability.authorize import authorize
from fortify.accountability.operators import Operator
from fortify.accountability.policy import LEAD_NOTICE
from fortify.errors import FortifyError, NotFound
from fortify.gallery.doc_capture import attach_document, attached_scan, check_target, purge_attached
from fortify.gallery.portrait import PORTRAIT_FMR, honesty, portrait_threshold
from fortify.gallery.ranking import calibration
from fortify.gallery.rowdigest import encounter_digest
from fortify.imaging import read_bytes
from fortify.modalities.document.engine import DocumentEngine
from fortify.modalities.document.names import names_match, transliterate
from fortify.store.tables import Encounter, EncounterCapture, Identity, new_id, utcnow
from fortify.templates.codec import decode

if TYPE_CHECKING:
    from fortify.gallery.core import Gallery

log = logging.getLogger(__name__)
_ENGINES: dict[int, DocumentEngine] = {}


def _engine(self: Gallery) -> DocumentEngine:
    return _ENGINES.setdefault(id(self), DocumentEngine())


def _attr(attrs: dict[str, Any], *keys: str) -> str:
    for k in keys:
        v = attrs.get(k)
        if v:
            return str(v)
    return ""


def find_holders(self: Gallery, fields: dict[str, Any]) -> list[dict[str, Any]]:
    """Identities whose attributes match the document number, or name + date of birth."""
    number = transliterate(str(fields.get("document_number") or "")).replace(" ", "")
    birth = fields.get("birth_date") or ""
    leads = []
    with self.db.session() as s:
        for ident in s.scalars(select(Identity)):
            attrs = ident.attributes or {}
            how = []
            rec_no = _attr(attrs, "document_number", "passport_number", "licence_number")
            if number and rec_no and transliterate(rec_no).replace(" ", "") == number:
                how.append("document_number")
            rec_name = (
                _attr(attrs, "name", "full_name")
                or " ".join(
                    x
                    for x in (_attr(attrs, "given_names", "first_name"), _attr(attrs, "surname"))
                    if x
                )
                or (ident.display_name or "")
            )
            rec_birth = _attr(attrs, "birth_date", "date_of_birth")
            if (
                birth
                and rec_birth == birth
                and names_match(
                    fields.get("surname", ""),
                    fields.get("given_names", ""),
                    rec_name,
                    bool(fields.get("names_truncated")),
                )
            ):
                how.append("name_and_birth_date")
            if how:
                mismatch = []
                if "document_number" in how and "name_and_birth_date" not in how:
                    mismatch.append("name_or_birth_date_differs_from_record")
                leads.append(
                    {
                        "identity_id": ident.id,
                        "reference": ident.reference,
                        "display_name": ident.display_name,
                        "synthetic": ident.synthetic,
                        "matched_by": how,
                        "mismatch": mismatch,
                    }
                )
    return leads


def _portrait(self: Gallery, doc_rgb: Any, live_vector: np.ndarray | None) -> dict[str, Any]:
    """1:1 of the document portrait against the live face at FMR 1e-3 (see ``portrait``)."""
    if live_vector is None:
        return {"compared": False, "reason": "no live face capture given"}
    try:
        doc_face = self.engine.process(doc_rgb, face="largest")
    except FortifyError as exc:
        return {"compared": False, "reason": f"no usable portrait on the document ({exc.code})"}
    score = float(np.dot(doc_face.template.vector, live_vector))
    model = self.engine.model_id
    cal = calibration(self)
    live_thr, limited = cal.threshold(PORTRAIT_FMR, 1) if cal is not None else (None, False)
    thr, source = portrait_threshold(model, live_thr)
    out: dict[str, Any] = {
        "compared": True,
        "score": round(score, 4),
        "portrait_box": doc_face.detection.bbox.as_list(),
        "target_fmr": PORTRAIT_FMR,
        **honesty(model),
    }
    if thr is None:
        return {**out, "decision": "uncalibrated"}
    return {
        **out,
        "threshold": round(thr, 4),
        "threshold_source": source,
        "live_face_threshold": round(live_thr, 4) if live_thr is not None else None,
        "threshold_resolution_limited": limited,
        "estimated_fmr": cal.fmr(score) if cal is not None else None,
        "decision": "holder_matches_portrait" if score >= thr else "holder_does_not_match",
    }


def _live_vector(
    self: Gallery, operator: Operator, search_id: str | None, face_image: str | Path | bytes | None
) -> np.ndarray | None:
    if face_image is not None:
        rgb = self.engine.load(read_bytes(face_image, self.settings.max_upload_bytes))
        vec: np.ndarray = self.engine.process(rgb, face="largest").template.vector
        return vec
    if search_id is None:
        return None
    with self.db.session() as s:
        row = s.scalars(
            select(EncounterCapture)
            .where(
                EncounterCapture.encounter_id == search_id,
                EncounterCapture.modality == "face",
                EncounterCapture.template.is_not(None),
            )
            .order_by(EncounterCapture.seq)
        ).first()  # the first live face of the encounter (a finger-only search has none)
    if row is None or row.template is None:
        return None
    t = decode(row.template)
    if t.model_id != self.engine.model_id:  # captured before a model change: not comparable
        return None
    v: np.ndarray = t.vector
    return v


def scan_document(
    self: Gallery,
    image: str | Path | bytes,
    *,
    operator: Operator,
    purpose: str | None,
    case_id: str | None = None,
    channel: str = "api",
    search_id: str | None = None,
    face_image: str | Path | bytes | None = None,
) -> dict[str, Any]:
    """Read the document in ``image``, look the holder up, compare the portrait; audited."""
    operator.require("search")
    auth = authorize(
        self, operator, purpose, case_id, channel=channel, refused_action="document.refused"
    )  # the one door: training, purpose, use policy (audits refusals)
    req = auth.request
    audit = {"purpose": req.purpose, "case_id": req.case_id, "channel": channel}
    try:
        if search_id is not None:  # your own search, not purged: checked before reading
            check_target(self, operator, search_id)
        rgb = self.engine.load(read_bytes(image, self.settings.max_upload_bytes))
        reading = _engine(self).read(rgb)
        live = _live_vector(self, operator, search_id, face_image)
    except FortifyError as exc:
        target = f"search:{search_id}" if search_id else ""
        self.record_now(operator, "document.failed", target, code=exc.code, **audit)
        raise
    sid = new_id()
    now = utcnow()
    leads = find_holders(self, reading["fields"])
    portrait = _portrait(self, rgb, live)
    if search_id is not None and live is None and face_image is None:
        portrait["reason"] = "the search holds no live face capture of the current face model"
    flags = list(reading.get("flags", []))
    if any(lead["mismatch"] for lead in leads):
        flags.append("record_mismatch")
    if search_id is not None:  # one more capture of that encounter, not a second one
        return attach_document(
            self,
            search_id,
            operator=operator,
            req=req,
            channel=channel,
            reading=reading,
            leads=leads,
            portrait=portrait,
            flags=flags,
            audit=audit,
            auth_audit=auth.audit(),
        )
    result = _result(sid, operator, req, channel, now, reading, leads, portrait, flags, search_id)
    with self.write() as s:
        s.add(
            Encounter(
                id=sid,
                operator=operator.name,
                purpose=req.purpose,
                case_id=req.case_id,
                channel=channel,
                created_at=now,
                decision=result["decision"],
                threshold=0.0,
                model_id=_engine(self).model_id if reading["kind"] == "mrz" else "aamva-pdf417",
                result=result,
                probe_path=None,
                retain_until=_retain(self, now),
            )
        )
        self.record(
            s,
            operator,
            "document.scan",
            f"search:{sid}",
            **audit,
            **auth.audit(),
            kind=reading["kind"],
            valid=reading["valid"],
            flags=flags,
            leads=[lead["reference"] for lead in leads],
            portrait=portrait.get("decision"),
        )
    return result


def _retain(self: Gallery, now: datetime) -> datetime | None:
    from datetime import timedelta

    hours = self.settings.probe_retention_hours
    return now + timedelta(hours=hours) if hours > 0 else None


def _result(
    sid: str,
    operator: Operator,
    req: Any,
    channel: str,
    now: datetime,
    reading: dict[str, Any],
    leads: list[dict[str, Any]],
    portrait: dict[str, Any],
    flags: list[str],
    search_id: str | None,
) -> dict[str, Any]:
    return {
        "search_id": sid,
        "kind": "document",
        "document": reading,
        "flags": flags,
        "decision": "leads" if leads else "no_lead",
        "leads": leads,
        "portrait": portrait,
        "face_search_id": search_id,
        "notice": LEAD_NOTICE,
        "created_at": now.isoformat(),
        "operator": operator.name,
        "purpose": req.purpose,
        "case_id": req.case_id,
        "channel": channel,
        "candidates": [],
    }


def get_document_scan(self: Gallery, scan_id: str, *, operator: Operator) -> dict[str, Any]:
    with self.db.session() as s:
        enc = s.get(Encounter, scan_id)
        if enc is None or (not operator.can("searches.read_all") and enc.operator != operator.name):
            raise NotFound(f"no document scan '{scan_id}'", search_id=scan_id)
        result = dict(enc.result)
        attached = None if result.get("kind") == "document" else attached_scan(self, enc)
    if attached is not None:  # a document capture of a face/finger search
        result = attached
    elif result.get("kind") != "document":
        raise NotFound(f"no document scan '{scan_id}'", search_id=scan_id)
    self.record_now(operator, "document.view", f"search:{scan_id}")
    return result


def purge_expired_documents(self: Gallery) -> int:
    """Blank the document data of scans past ``retain_until`` (no confirmed match); audited."""
    from fortify.gallery.retention import SYSTEM

    now = utcnow()
    with self.write() as s:
        due = [
            e
            for e in s.scalars(
                select(Encounter).where(
                    Encounter.retain_until.is_not(None),
                    Encounter.retain_until <= now,
                    Encounter.confirmed_identity_id.is_(None),
                )
            )
            if (e.result or {}).get("kind") == "document"
        ]
        for e in due:
            e.result = {**e.result, "document": {"purged": True}, "leads": [], "portrait": {}}
            e.retain_until = None
        attached = purge_attached(  # document captures of face/finger searches, as their probes
            self,
            s,
            Encounter.confirmed_identity_id.is_(None)
            & or_(Encounter.retain_until.is_(None), Encounter.retain_until <= now),
        )
        if due or attached:
            s.flush()
            self.record(
                s,
                SYSTEM,
                "retention.purge_documents",
                "",
                purged=len(due),
                searches=[e.id for e in due][:1000],
                document_captures_of=attached[:1000],
                rows={
                    f"encounter:{i}": encounter_digest(row)
                    for i in attached[:1000]
                    if (row := s.get(Encounter, i)) is not None
                },
            )
    return len(due)
