"""Opt-out: delete a person, refuse them ever after, by reference AND by face.

The person's templates move from the gallery to ``opt_out_templates``: a small
refusal list that is never indexed and never returned as a candidate. Every
enrolment is compared against it at the decision threshold (the calibrated one
for a gallery the size of the list, or the fixed one). The reference is kept only
as a salted, source-independent hash (:mod:`fortify.gallery.references`).
Earlier searches that listed the person are scrubbed: their name, reference and
photo link leave the stored results, and a confirmed search of them loses its
probe photos and templates.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import String, cast, or_, select
from sqlalchemy.orm import Session, selectinload

from fortify.accountability.operators import Operator
from fortify.accountability.text import clean_text
from fortify.errors import InvalidInput, NotFound, OptedOut
from fortify.gallery.references import (
    SALT_FILE,
    installation_salt,
    normalize_reference,
    salted_optout_hash,
)
from fortify.gallery.rowdigest import encounter_digest
from fortify.store.files import shred
from fortify.store.tables import (
    ChangeLog,
    Encounter,
    EncounterCapture,
    Identity,
    OptOut,
    OptOutTemplate,
    TemplateRow,
)
from fortify.templates.codec import decode
from fortify.types import Template

if TYPE_CHECKING:
    from fortify.gallery.core import Gallery

log = logging.getLogger(__name__)
REDACTED = "opted_out"


def salt(self: Gallery) -> bytes:
    path = self.settings.optout_salt_file or self.settings.home / SALT_FILE
    return installation_salt(path)


def reference_hashes(self: Gallery, reference: str, source: str) -> list[str]:
    """The salted hash, and the legacy unsalted per-source one (rows made before 0003)."""
    from fortify.gallery.enroll import optout_hash

    ref = normalize_reference(reference)
    return [salted_optout_hash(salt(self), ref), optout_hash(source, ref)]


def refusal_threshold(self: Gallery, n: int, modality: str = "face") -> float:
    """The modality's decision threshold at a gallery of ``n`` refusal templates."""
    from fortify.gallery.ranking import calibration

    fixed = (
        self.settings.match_threshold
        if modality == "face"
        else getattr(getattr(self.settings, modality, None), "match_threshold", None)
    )
    if fixed is not None:
        return float(fixed)
    cal = calibration(self, modality)
    if cal is None:
        return 0.9
    thr, _ = cal.threshold(self.settings.target_fpir, max(1, n))
    return thr


def refused_by_face(self: Gallery, s: Session, template: Template) -> float | None:
    """The best score of ``template`` against the refusal list when at or above threshold.

    Any modality: the refusal templates of the same model are compared with the
    modality's own 1:1 matcher at its decision threshold (a face or a finger refuses).
    """
    rows = s.scalars(
        select(OptOutTemplate.data).where(OptOutTemplate.model_id == template.model_id)
    ).all()
    if not rows:
        return None
    refused = [decode(r) for r in rows]
    if template.modality == "face":
        mat = np.stack([t.vector for t in refused]).astype(np.float32)
        best = float(np.max(mat @ np.asarray(template.vector, np.float32)))
    else:
        matcher = self.modalities.get(template.modality)
        best = max(matcher.compare(template, t) for t in refused)
    return best if best >= refusal_threshold(self, len(rows), template.modality) else None


def check_enrolment(
    self: Gallery, s: Session, reference: str, source: str, template: Template
) -> None:
    """Raise :class:`OptedOut` for an opted-out reference or face (inside the write)."""
    hashes = reference_hashes(self, reference, source)
    if s.scalars(select(OptOut.id).where(OptOut.reference_hash.in_(hashes))).first():
        raise OptedOut("this reference has opted out of enrolment", reason="reference")
    score = refused_by_face(self, s, template)
    if score is not None:
        raise OptedOut(
            f"this {template.modality} matches a person who opted out of enrolment",
            reason="face",
            score=round(score, 4),
        )


def _redact(obj: Any, identity_id: str) -> Any:
    if isinstance(obj, dict):
        if obj.get("identity_id") == identity_id:
            kept = {k: obj[k] for k in ("rank", "score") if k in obj}
            return {**kept, "identity_id": None, "redacted": REDACTED}
        return {k: (None if v == identity_id else _redact(v, identity_id)) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_redact(v, identity_id) for v in obj]
    return obj


def _scrub_encounters(
    self: Gallery, s: Session, identity_id: str
) -> tuple[dict[str, str | None], list[Path]]:
    files: list[Path] = []
    rows: dict[str, str | None] = {}
    encs = s.scalars(
        select(Encounter).where(
            or_(
                Encounter.confirmed_identity_id == identity_id,
                cast(Encounter.result, String).contains(identity_id),
            )
        )
    ).all()
    for enc in encs:
        enc.result = _redact(dict(enc.result), identity_id)
        if enc.confirmed_identity_id == identity_id:
            enc.confirmed_identity_id = None
            if enc.probe_path:
                files.append(self.settings.home / enc.probe_path)
            enc.probe_path = None
            enc.retain_until = None
            for c in s.scalars(
                select(EncounterCapture).where(EncounterCapture.encounter_id == enc.id)
            ):
                if c.probe_path:
                    files.append(self.settings.home / c.probe_path)
                c.probe_path = None
                c.template = None
        rows[f"encounter:{enc.id}"] = encounter_digest(enc)
    return rows, files


def opt_out_identity(
    self: Gallery, identity_id: str, *, operator: Operator, reason: str
) -> dict[str, Any]:
    """Opt a person out: delete, keep the face only as a refusal, scrub searches; audited."""
    operator.require("delete")
    why = clean_text("reason", reason or "")
    if len(why) < 3:
        raise InvalidInput("an opt-out needs a reason (at least 3 visible characters)")
    with self.write() as s:
        ident = s.get(Identity, identity_id, options=[selectinload(Identity.samples)])
        if ident is None:
            raise NotFound(f"no identity '{identity_id}'", identity_id=identity_id)
        h = salted_optout_hash(salt(self), ident.reference)
        oo = s.scalars(select(OptOut).where(OptOut.reference_hash == h)).first()
        if oo is None:
            oo = OptOut(reference_hash=h)
            s.add(oo)
            s.flush()
        templates = s.scalars(select(TemplateRow).where(TemplateRow.identity_id == identity_id))
        n = 0
        for t in templates:
            s.add(OptOutTemplate(opt_out_id=oo.id, model_id=t.model_id, data=t.data))
            s.add(ChangeLog(template_id=t.id, model_id=t.model_id, op="remove"))
            n += 1
        files = [self.settings.home / sm.image_path for sm in ident.samples if sm.image_path]
        rows, probe_files = _scrub_encounters(self, s, identity_id)
        scrubbed = len(rows)
        rows[f"identity:{identity_id}"] = None
        rows.update({f"sample:{sm.id}": None for sm in ident.samples})
        s.delete(ident)
        self.record(
            s,
            operator,
            "identity.opt_out",
            f"identity:{identity_id}",
            reference_hash=h[:16],
            templates=n,
            searches_scrubbed=scrubbed,
            reason=why[:500],
            rows=rows,
        )
    self.index.catch_up()
    for f in files + probe_files:
        shred(f)
    self.scrub_due = True
    return {
        "identity_id": identity_id,
        "opted_out": True,
        "deleted_templates": n,
        "refusal_templates": n,
        "searches_scrubbed": scrubbed,
    }


def opt_out_reference(
    self: Gallery, reference: str, *, operator: Operator, source: str = "default", reason: str
) -> bool:
    """Opt out by reference: the source's identity of that reference is opted out, and
    the reference (in any source, any spelling of the same key) is refused from now on."""
    operator.require("delete")
    ref = normalize_reference(reference)
    with self.db.session() as s:
        ids = [
            i.id
            for i in s.scalars(select(Identity).where(Identity.reference == ref))
            if i.source.name == source
        ]
    for iid in ids:
        opt_out_identity(self, iid, operator=operator, reason=reason)
    if not ids:  # nobody enrolled yet: still refuse the reference from now on
        with self.write() as s:
            h = salted_optout_hash(salt(self), ref)
            if s.scalars(select(OptOut).where(OptOut.reference_hash == h)).first() is None:
                s.add(OptOut(reference_hash=h))
            self.record(s, operator, "opt_out", f"reference:{h[:16]}", deleted=0, reason=reason)
    return bool(ids)
