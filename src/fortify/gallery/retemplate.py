"""Model upgrades: which face model a gallery searches with, and re-templating to a new one.

Scores of two face models are not comparable, so a gallery never mixes them. A gallery
whose stored templates were made by another model than the configured one keeps
searching (and enrolling) with the model of its templates until every stored sample
image has a template of the configured model; ``fortify index retemplate`` makes those
templates from the stored images (resumable: it only does the samples still lacking
one). Samples enrolled without a kept image cannot be re-templated: they are reported.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import distinct, func, select

from fortify.accountability.operators import Operator
from fortify.config import Settings
from fortify.errors import ConfigError, FortifyError, NoFaceFound
from fortify.gallery.enroll import _add_template
from fortify.modalities.base import AcquireOptions, Acquisition
from fortify.modalities.face.modality import face_acquisition
from fortify.store.db import Database
from fortify.store.tables import Sample, TemplateRow
from fortify.types import Detection, FaceResult

if TYPE_CHECKING:
    from fortify.gallery.core import Gallery
    from fortify.modalities.face.engine import Engine

log = logging.getLogger(__name__)

BATCH = 32


@dataclass
class Coverage:
    """How far a gallery is re-templated to ``model``."""

    model: str
    samples: int  # samples with any template
    done: int  # ... with a template of ``model``
    without_image: int  # not done and no stored image: cannot be re-templated
    by_model: dict[str, int] = field(default_factory=dict)  # templates per model

    @property
    def complete(self) -> bool:
        return self.done + self.without_image >= self.samples

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "samples": self.samples,
            "retemplated": self.done,
            "without_image": self.without_image,
            "templates_by_model": self.by_model,
            "complete": self.complete,
        }


def coverage(db: Database, model: str) -> Coverage:
    """Face templates only: other modalities have models of their own (and are re-made
    from their template records, so no face-style count of samples without an image)."""
    cov = modality_coverage(db, "face", model)
    done_q = select(TemplateRow.sample_id).where(TemplateRow.model_id == model)
    with db.session() as s:
        no_image = s.scalar(
            select(func.count(distinct(TemplateRow.sample_id)))
            .join(Sample, Sample.id == TemplateRow.sample_id)
            .where(
                TemplateRow.modality == "face",
                Sample.image_path.is_(None),
                TemplateRow.sample_id.not_in(done_q),
            )
        ) or 0  # fmt: skip
    return replace(cov, without_image=int(no_image))


def serving_model(db: Database, configured: str) -> str:
    """The model a gallery searches with: the configured one once re-templating is complete."""
    cov = coverage(db, configured)
    if cov.samples == 0 or cov.complete:
        return configured
    others = {m: n for m, n in cov.by_model.items() if m != configured}
    old = max(others, key=lambda m: others[m])
    log.warning(
        "the gallery's templates are of model %s (%d of %d samples re-templated to %s):"
        " searching with %s until `fortify index retemplate` completes",
        old, cov.done, cov.samples, configured, old,
    )  # fmt: skip
    return old


def engine_for_stored(db: Database, settings: Settings, engine: Engine) -> Engine:
    """``engine``, or an Engine for the model the gallery's templates were made with."""
    from fortify.modalities.face.engine import SHIPPED_MODELS, Engine

    model = serving_model(db, engine.model_id)
    if model == engine.model_id:
        return engine
    if model not in SHIPPED_MODELS:  # a model id is also the face_model setting making it
        raise ConfigError(
            f"the gallery's templates are of model {model}, which this configuration does"
            f" not make; configure that model or run `fortify index retemplate`",
            model=model,
        )
    log.warning(
        "the gallery's face templates are of %s: searching with it until `fortify index "
        "retemplate` has made %s templates from the stored photos",
        model,
        engine.model_id,
    )
    return Engine(settings.model_copy(update={"face_model": model}))


def _pick(detections: list[Detection], box: list[int] | None) -> Detection:
    """The detection that best overlaps the enrolled face box (else the largest)."""
    if not box or len(box) != 4:
        return max(detections, key=lambda d: d.bbox.area)
    x, y, w, h = box

    def iou(d: Detection) -> float:
        b = d.bbox
        ix = max(0, min(x + w, b.x + b.w) - max(x, b.x))
        iy = max(0, min(y + h, b.y + b.h) - max(y, b.y))
        inter = ix * iy
        return inter / max(1, w * h + b.area - inter)

    return max(detections, key=iou)


@dataclass
class RetemplateReport:
    model: str
    retemplated: int
    failed: dict[str, str]  # sample id -> error code
    coverage: Coverage

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "retemplated": self.retemplated,
            "failed": self.failed,
            **{"coverage": self.coverage.to_dict()},
        }


def retemplate(
    gallery: Gallery,
    engine: Engine,
    *,
    operator: Operator,
    progress: Callable[[int, int], None] | None = None,
    limit: int | None = None,
) -> RetemplateReport:
    """Add a template of ``engine``'s model to every stored sample image still lacking one."""
    operator.require("enroll")
    model = engine.model_id
    done_q = select(TemplateRow.sample_id).where(TemplateRow.model_id == model)
    with gallery.db.session() as s:
        todo = s.execute(
            select(Sample.id, Sample.image_path, Sample.face_box)
            .where(
                Sample.modality == "face",
                Sample.image_path.is_not(None),
                Sample.id.not_in(done_q),
            )
            .order_by(Sample.created_at, Sample.id)
        ).all()

    def make(row: Any) -> Acquisition:
        _, path, face_box = row
        image = engine.load(gallery.settings.home / path)
        dets = engine.detect(image)
        if not dets:
            raise NoFaceFound("no face found in the stored image")
        d = _pick(dets, (face_box or {}).get("box"))
        template, used = engine.recognisable_template(image, d)
        return face_acquisition(FaceResult(template, used, len(dets)))

    todo = todo[:limit] if limit is not None else todo
    n_done, failed = _in_batches(gallery, operator, model, todo, make, progress)
    return RetemplateReport(model, n_done, failed, coverage(gallery.db, model))


def retemplate_modality(
    gallery: Gallery,
    name: str,
    *,
    operator: Operator,
    progress: Callable[[int, int], None] | None = None,
    limit: int | None = None,
) -> RetemplateReport:
    """Re-template the samples of a non-face modality to its configured model.

    A finger template's payload is its ISO/IEC 19794-2 minutiae record, the template of
    record (as exchanged records are); a model change that keeps the minutiae (finger
    v2 -> v3: new cylinders, codes and scores) rebuilds the template from that record,
    exactly. A sample without any template payload is re-acquired from its stored image.
    """
    operator.require("enroll")
    mod = gallery.modality(name)
    model, _ = mod.model_spec()
    done_q = select(TemplateRow.sample_id).where(TemplateRow.model_id == model)
    with gallery.db.session() as s:
        todo = s.execute(
            select(Sample.id, Sample.image_path, Sample.finger_position)
            .where(Sample.modality == mod.name, Sample.id.not_in(done_q))
            .order_by(Sample.created_at, Sample.id)
        ).all()

    def make(row: Any) -> Acquisition:
        sid, path, position = row
        data = _record_of(gallery, sid)
        if data is None and path is not None:
            data = (gallery.settings.home / path).read_bytes()
        if data is None:
            raise ConfigError("no template record and no stored image")
        return mod.acquire(data, AcquireOptions(finger_position=int(position or 0)))

    todo = todo[:limit] if limit is not None else todo
    n_done, failed = _in_batches(gallery, operator, model, todo, make, progress, modality=mod.name)
    return RetemplateReport(model, n_done, failed, modality_coverage(gallery.db, mod.name, model))


def _in_batches(
    gallery: Gallery,
    operator: Operator,
    model: str,
    todo: Sequence[Any],
    make: Callable[[Any], Acquisition],
    progress: Callable[[int, int], None] | None,
    **audit: Any,
) -> tuple[int, dict[str, str]]:
    """Make a template for each ``todo`` row (its first field the sample id), stored and
    audited a batch at a time; (templates made, sample id -> error code of the failures)."""
    failed: dict[str, str] = {}
    n_done = 0
    if progress:
        progress(0, len(todo))
    for start in range(0, len(todo), BATCH):
        made: list[tuple[str, Acquisition]] = []
        for row in todo[start : start + BATCH]:
            try:
                made.append((row[0], make(row)))
            except (FortifyError, OSError) as exc:
                failed[row[0]] = getattr(exc, "code", "unreadable")
        with gallery.write() as s:
            ids = [
                _add_template(s, sample, acq)
                for sid, acq in made
                if (sample := s.get(Sample, sid)) is not None  # deleted meanwhile
            ]
            gallery.record(
                s, operator, "index.retemplate", f"model:{model}", templates=len(ids),
                **audit, failed=sorted(failed)[-BATCH:],
            )  # fmt: skip
        n_done += len(made)
        if progress:
            progress(min(start + BATCH, len(todo)), len(todo))
    return n_done, failed


def _record_of(gallery: Gallery, sample_id: str) -> bytes | None:
    """The payload (minutiae record) of a sample's newest template, if it has one."""
    from fortify.types import Template

    with gallery.db.session() as s:
        rows = s.scalars(
            select(TemplateRow.data)
            .where(TemplateRow.sample_id == sample_id)
            .order_by(TemplateRow.id.desc())
        ).all()
    for data in rows:
        try:
            payload = Template.from_bytes(data).payload
        except (ValueError, FortifyError):  # a damaged row: the stored image, if any
            continue
        if payload:
            return payload
    return None


def modality_coverage(db: Database, name: str, model: str) -> Coverage:
    """How far the samples of modality ``name`` are re-templated to ``model``."""
    of = TemplateRow.modality == name
    with db.session() as s:
        by_model = dict(
            s.execute(
                select(TemplateRow.model_id, func.count()).where(of).group_by(
                    TemplateRow.model_id)
            ).all()
        )  # fmt: skip
        samples = s.scalar(select(func.count(distinct(TemplateRow.sample_id))).where(of)) or 0
        done = s.scalar(select(func.count(distinct(TemplateRow.sample_id))).where(
            of, TemplateRow.model_id == model)) or 0  # fmt: skip
    return Coverage(model, int(samples), int(done), 0, {k: int(v) for k, v in by_model.items()})
