"""Enrolment: image -> sample + template + change-log row + audit entry, one transaction."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fortify.accountability.operators import Operator
from fortify.errors import DuplicateSample, NotFound, OptedOut
from fortify.gallery import rowdigest as _rowdigest
from fortify.gallery import staging as _staging
from fortify.gallery.optout import check_enrolment
from fortify.gallery.references import normalize_reference
from fortify.governance.duties import require_reason
from fortify.imaging import encode_jpeg, read_bytes
from fortify.modalities.base import AcquireOptions, Acquisition
from fortify.modalities.base import finger_position as finger_code
from fortify.modalities.face.engine import FacePick
from fortify.modalities.face.modality import face_acquisition
from fortify.store.files import shred
from fortify.store.tables import (
    ChangeLog,
    Identity,
    Sample,
    TemplateRow,
    new_id,
    utcnow,
)
from fortify.types import FaceResult

if TYPE_CHECKING:
    from fortify.gallery.core import Gallery

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EnrollResult:
    identity_id: str
    reference: str
    sample_id: str
    template_id: int
    created_identity: bool
    quality: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "identity_id": self.identity_id,
            "reference": self.reference,
            "sample_id": self.sample_id,
            "template_id": self.template_id,
            "created_identity": self.created_identity,
            "quality": self.quality,
        }


def optout_hash(source: str, reference: str) -> str:
    return hashlib.sha256(f"{source}\x1f{reference}".encode()).hexdigest()


def _check_reference(reference: str) -> str:
    return normalize_reference(reference)


def enroll_image(
    self: Gallery,
    image: str | Path | bytes,
    *,
    reference: str,
    operator: Operator,
    source: str = "default",
    display_name: str | None = None,
    synthetic: bool = False,
    attributes: dict[str, Any] | None = None,
    face: FacePick = None,
    captured_at: datetime | None = None,
    original_name: str | None = None,
    modality: str = "face",
    finger_position: str | int | None = None,
) -> EnrollResult:
    """Enrol one capture (face photo, fingerprint, ...) under ``reference``.

    The identity is created if new; every modality goes through this one path.
    """
    operator.require("enroll")
    ref = _check_reference(reference)
    data = read_bytes(image, self.settings.max_upload_bytes)
    options = AcquireOptions(
        strict_quality=True, face=face, finger_position=finger_code(finger_position)
    )
    result = self.modality(modality).acquire(data, options)
    return store_prepared(
        self,
        data,
        encode_jpeg(result.image) if result.image is not None else b"",
        result,
        ref=ref,
        operator=operator,
        source=source,
        display_name=display_name,
        synthetic=synthetic,
        attributes=attributes or {},
        captured_at=captured_at,
        original_name=original_name or (Path(image).name if not isinstance(image, bytes) else None),
    )


def store_prepared(
    self: Gallery,
    data: bytes,
    jpeg: bytes,
    result: FaceResult | Acquisition,
    *,
    ref: str,
    operator: Operator,
    source: str,
    display_name: str | None,
    synthetic: bool,
    attributes: dict[str, Any],
    captured_at: datetime | None,
    original_name: str | None,
) -> EnrollResult:
    """Store an already-processed image (used by parallel bulk enrolment)."""
    operator.require("enroll")
    ref = _check_reference(ref)
    if isinstance(result, FaceResult):
        result = face_acquisition(result)
    sample_id = new_id()
    digest = hashlib.sha256(data).hexdigest()
    image_path: Path | None = None
    staged: Path | None = None
    if self.settings.keep_enrollment_images and jpeg:
        image_path = self.settings.media_dir / "samples" / sample_id[:2] / f"{sample_id}.jpg"
        staged = _staging.stage(self, image_path, jpeg)
    try:
        with self.write() as s:
            check_enrolment(self, s, ref, source, result.template)
            src = self.source(s, source)
            ident = s.execute(
                select(Identity).where(Identity.source_id == src.id, Identity.reference == ref)
            ).scalar_one_or_none()
            if ident is not None:
                dup = s.scalar(
                    select(Sample.id).where(
                        Sample.identity_id == ident.id, Sample.image_sha256 == digest
                    )
                )
                if dup is not None:
                    raise DuplicateSample(
                        f"this image is already enrolled for '{ref}' (sample {dup})",
                        sample_id=dup,
                        identity_id=ident.id,
                    )
            created = ident is None
            if ident is None:
                ident = Identity(
                    source_id=src.id,
                    reference=ref,
                    display_name=display_name,
                    synthetic=synthetic,
                    attributes=attributes,
                )
                s.add(ident)
                s.flush()
            sample = Sample(
                id=sample_id,
                identity_id=ident.id,
                captured_at=captured_at or utcnow(),
                image_path=str(image_path.relative_to(self.settings.home)) if image_path else None,
                image_sha256=digest,
                original_name=original_name,
                quality=result.quality,
                face_box={"box": result.box},
                modality=result.modality,
                finger_position=result.template.finger_position or None,
            )
            s.add(sample)
            s.flush()
            tid = _add_template(s, sample, result)
            self.record(
                s,
                operator,
                "enroll",
                f"identity:{ident.id}",
                reference=ref,
                source=source,
                sample_id=sample_id,
                template_id=tid,
                created_identity=created,
                modality=result.modality,
                rows={
                    f"identity:{ident.id}": _rowdigest.identity_digest(ident),
                    f"sample:{sample_id}": _rowdigest.sample_digest(sample),
                },
            )
            out = EnrollResult(ident.id, ref, sample_id, tid, created, result.quality)
    except OptedOut as exc:
        if staged is not None:
            shred(staged)
        self.record_now(operator, "enroll.refused", "", code=exc.code, **exc.details)
        raise
    except BaseException:
        if staged is not None:
            shred(staged)
        raise
    if staged is not None and image_path is not None:
        _staging.publish(staged, image_path)
    return out


def _add_template(s: Session, sample: Sample, result: Acquisition) -> int:
    t = result.template
    row = TemplateRow(
        sample_id=sample.id,
        identity_id=sample.identity_id,
        model_id=t.model_id,
        model_version=t.model_version,
        data=t.to_bytes(),
        modality=t.modality,
        finger_position=t.finger_position or None,
    )
    s.add(row)
    s.flush()
    s.add(ChangeLog(template_id=row.id, model_id=t.model_id, op="add"))
    return int(row.id)


def add_sample(
    self: Gallery,
    identity_id: str,
    image: str | Path | bytes,
    *,
    operator: Operator,
    face: FacePick = None,
    captured_at: datetime | None = None,
    modality: str = "face",
    finger_position: str | int | None = None,
) -> EnrollResult:
    """Add another capture (any modality) to an existing identity."""
    operator.require("enroll")
    with self.db.session() as s:
        ident = s.get(Identity, identity_id)
        if ident is None:
            raise NotFound(f"no identity '{identity_id}'", identity_id=identity_id)
        ref, source = ident.reference, ident.source.name
    return self.enroll_image(
        image,
        reference=ref,
        operator=operator,
        source=source,
        face=face,
        captured_at=captured_at,
        modality=modality,
        finger_position=finger_position,
    )


def opt_out(
    self: Gallery,
    reference: str,
    *,
    operator: Operator,
    source: str = "default",
    reason: str | None = None,
) -> bool:
    """Delete the person's records and refuse any later enrolment (reference and face)."""
    from fortify.gallery.optout import opt_out_reference

    why = require_reason(reason, "an opt-out")
    return opt_out_reference(self, reference, operator=operator, source=source, reason=why)
