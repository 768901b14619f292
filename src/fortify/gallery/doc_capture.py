"""A document scan attached to a face/finger search: one more capture of the encounter.

``POST /v1/documents`` with ``search_id`` does not open a second encounter: the reading is
stored as an :class:`EncounterCapture` of modality ``document`` on the officer's own search
(no template; the reading summary in ``quality``, the holder check in ``top``; retained and
purged with the encounter's probes) and the search's result gets a ``document`` section: the
portrait vs live face decision, the holder leads found from the document's fields, and whether
those leads agree with the search's top candidate(s). Disagreement is flagged like
disagreement between captures (``consistency.warning``), never hidden.

Why documents are an encounter capture but not a searchable modality (not in
:data:`fortify.modalities.registry.FACTORIES`): the :class:`~fortify.modalities.base.Modality`
protocol is a 1:N biometric plug-in: ``acquire`` makes a template that an index ranks,
``compare`` scores two templates, ``fuse`` merges captures of one person. A document gives
no template to put in an index and nothing to fuse: its evidence is text (a number, a name,
a date of birth) looked up in the records (:func:`fortify.gallery.documents.find_holders`)
and a printed portrait compared 1:1 with the encounter's live face by the *face* modality.
Registering it would mean a fake template and a fake ``compare``; so it joins an encounter
through this module instead, on the same purpose/audit/retention path as every capture.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from fortify.accountability.operators import Operator
from fortify.errors import InvalidInput, NotFound
from fortify.gallery.rowdigest import encounter_digest
from fortify.store.tables import Encounter, EncounterCapture, utcnow

if TYPE_CHECKING:
    from fortify.gallery.core import Gallery

log = logging.getLogger(__name__)
DOCUMENT = "document"
DOCUMENT_DISAGREES = (
    "The document holder and the face candidates differ: do not rely on this result."
)
_PURGED: dict[str, Any] = {"purged": True}


def check_target(self: Gallery, operator: Operator, search_id: str) -> None:
    """The search a document is attached to: the operator's own, not purged, not full."""
    from fortify.gallery.search import MAX_CAPTURES

    with self.db.session() as s:
        enc = s.get(Encounter, search_id)
        if enc is None or enc.operator != operator.name:
            raise NotFound(f"no search '{search_id}' of yours", search_id=search_id)
        if (enc.result or {}).get("kind") == DOCUMENT:
            raise InvalidInput(
                "a document is attached to a face or finger search, not to a document scan",
                search_id=search_id,
            )
        rows = s.scalars(
            select(EncounterCapture).where(EncounterCapture.encounter_id == search_id)
        ).all()
    if len(rows) >= MAX_CAPTURES:
        raise InvalidInput(f"an encounter holds at most {MAX_CAPTURES} captures")
    if any(r.template is None and r.modality != DOCUMENT for r in rows):
        raise InvalidInput("the earlier captures of this search were purged (retention)")


def reading_summary(reading: dict[str, Any]) -> dict[str, Any]:
    """What the capture row keeps of the reading (everything the API showed)."""
    return {k: v for k, v in reading.items() if k != "seconds"}


def _tops(result: dict[str, Any]) -> dict[str, str | None]:
    """Top candidate per modality of the search (the main ranking and ``by_modality``)."""
    cands = result.get("candidates") or []
    tops: dict[str, str | None] = {
        str(result.get("modality") or "face"): cands[0]["identity_id"] if cands else None
    }
    for name, summary in (result.get("by_modality") or {}).items():
        tops[name] = summary.get("top_identity_id")
    return tops


def holder_agreement(result: dict[str, Any], leads: list[dict[str, Any]]) -> dict[str, Any]:
    """Do the document's holder leads name the search's top candidate(s)?"""
    lead_ids = {lead["identity_id"] for lead in leads}
    ranks = {c["identity_id"]: i + 1 for i, c in enumerate(result.get("candidates") or [])}
    tops = _tops(result)
    per = {m: (top in lead_ids) if top and lead_ids else None for m, top in tops.items()}
    known = [v for v in per.values() if v is not None]
    return {
        "agree": all(known) if known else None,  # None: no holder lead or no candidate
        "by_modality": per,
        "lead_ranks": {i: ranks.get(i) for i in sorted(lead_ids)},
    }


def apply_section(result: dict[str, Any], section: dict[str, Any]) -> dict[str, Any]:
    """Put the ``document`` section into a search result; recompute the agreement."""
    if section.get("purged"):
        result["document"] = dict(_PURGED)
        return result
    section = {**section, "holder_agreement": holder_agreement(result, section["leads"])}
    flags = [f for f in section.get("flags", []) if f != "holder_differs_from_candidates"]
    if section["holder_agreement"]["agree"] is False:
        flags.append("holder_differs_from_candidates")
        cons = result.setdefault("consistency", {"agree": True, "warning": None})
        if cons.get("agree", True):
            cons["agree"] = False
            cons["warning"] = DOCUMENT_DISAGREES
    section["flags"] = flags
    result["document"] = section
    return result


def carry_document(result: dict[str, Any], previous: dict[str, Any] | None) -> None:
    """A new capture re-ranked the search: keep its document section, re-checked."""
    section = (previous or {}).get("document")
    if isinstance(section, dict):
        apply_section(result, section)


def attach_document(
    self: Gallery,
    search_id: str,
    *,
    operator: Operator,
    req: Any,
    channel: str,
    reading: dict[str, Any],
    leads: list[dict[str, Any]],
    portrait: dict[str, Any],
    flags: list[str],
    audit: dict[str, Any],
    auth_audit: dict[str, Any],
) -> dict[str, Any]:
    """Store the scan as a document capture of ``search_id``; returns the scan's result."""
    from fortify.accountability.policy import LEAD_NOTICE

    now = utcnow()
    section: dict[str, Any] = {
        "kind": reading["kind"],
        "format": reading.get("format"),
        "valid": reading.get("valid"),
        "flags": list(flags),
        "leads": leads,
        "portrait": portrait,
        "scanned_at": now.isoformat(),
        "purpose": req.purpose,
        "case_id": req.case_id,
    }
    if portrait.get("decision") == "holder_does_not_match":
        section["flags"].append("portrait_does_not_match")
    with self.write() as s:
        enc = s.get(Encounter, search_id)
        if enc is None or enc.operator != operator.name:  # deleted meanwhile
            raise NotFound(f"no search '{search_id}' of yours", search_id=search_id)
        seq = 1 + max(
            (
                r.seq
                for r in s.scalars(
                    select(EncounterCapture).where(EncounterCapture.encounter_id == search_id)
                )
            ),
            default=0,
        )
        section["capture"] = seq
        result = apply_section(dict(enc.result or {}), section)
        enc.result = result
        s.add(
            EncounterCapture(
                encounter_id=search_id,
                seq=seq,
                created_at=now,
                template=None,
                probe_path=None,
                quality=reading_summary(reading),
                top=result["document"],
                modality=DOCUMENT,
            )
        )
        self.record(
            s,
            operator,
            "document.scan",
            f"search:{search_id}",
            **audit,
            **auth_audit,
            capture=seq,
            kind=reading["kind"],
            valid=reading["valid"],
            flags=result["document"]["flags"],
            leads=[lead["reference"] for lead in leads],
            portrait=portrait.get("decision"),
            agree=result["document"]["holder_agreement"]["agree"],
            rows={f"encounter:{search_id}": encounter_digest(enc)},
        )
    return scan_view(result, reading, now.isoformat(), operator.name, channel, LEAD_NOTICE)


def scan_view(
    result: dict[str, Any],
    reading: dict[str, Any],
    created: str,
    operator: str,
    channel: str,
    notice: str,
) -> dict[str, Any]:
    """The document-scan view (``POST``/``GET /v1/documents``) of an attached capture."""
    section = result["document"]
    return {
        "search_id": result["search_id"],
        "kind": DOCUMENT,
        "document": reading,
        "flags": section.get("flags", []),
        "decision": "leads" if section.get("leads") else "no_lead",
        "leads": section.get("leads", []),
        "portrait": section.get("portrait", {}),
        "holder_agreement": section.get("holder_agreement"),
        "face_search_id": result["search_id"],
        "capture": section.get("capture"),
        "consistency": result.get("consistency"),
        "notice": notice,
        "created_at": created,
        "operator": operator,
        "purpose": section.get("purpose") or result.get("purpose", ""),
        "case_id": section.get("case_id"),
        "channel": channel,
        "candidates": result.get("candidates", []),
    }


def attached_scan(self: Gallery, enc: Encounter) -> dict[str, Any] | None:
    """The latest document capture of a face/finger search, as a document-scan view."""
    from fortify.accountability.policy import LEAD_NOTICE

    with self.db.session() as s:
        row = s.scalars(
            select(EncounterCapture)
            .where(EncounterCapture.encounter_id == enc.id, EncounterCapture.modality == DOCUMENT)
            .order_by(EncounterCapture.seq.desc())
        ).first()
    if row is None:
        return None
    result = dict(enc.result or {})
    if not isinstance(result.get("document"), dict) or result["document"].get("purged"):
        result["document"] = dict(_PURGED, leads=[], portrait={})
        reading: dict[str, Any] = dict(_PURGED)
    else:
        reading = dict(row.quality or {})
    return scan_view(
        result, reading, row.created_at.isoformat(), enc.operator, enc.channel, LEAD_NOTICE
    )


def purge_attached(self: Gallery, s: Any, due: Any) -> list[str]:
    """Blank the document captures (and result sections) of due encounters (in ``s``)."""
    caps = s.scalars(
        select(EncounterCapture)
        .join(Encounter, Encounter.id == EncounterCapture.encounter_id)
        .where(due, EncounterCapture.modality == DOCUMENT)
    ).all()
    live = [c for c in caps if not (c.quality or {}).get("purged")]
    for c in live:
        c.quality = dict(_PURGED)
        c.top = dict(_PURGED)
    ids = sorted({c.encounter_id for c in live})
    for i in ids:
        enc = s.get(Encounter, i)
        if enc is not None:
            enc.result = {**(enc.result or {}), "document": dict(_PURGED)}
    return ids
