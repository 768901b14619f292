"""Ranking a template against the gallery, calibrated thresholds, capture consistency."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from itertools import combinations
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import func, select

from fortify.errors import ConfigError
from fortify.matching.calibration import Calibration, load_calibration
from fortify.modalities.base import Modality
from fortify.store.tables import Identity, Sample, TemplateRow
from fortify.templates.codec import decode
from fortify.types import FloatArray, Template

if TYPE_CHECKING:
    from fortify.gallery.core import Gallery

log = logging.getLogger(__name__)

DISAGREE = "The top candidates differ between captures: do not rely on this result."
Probe = FloatArray | Template
DIFFERENT = "The captures may not show the same person: do not rely on this result."


def calibration(self: Gallery, modality: str = "face") -> Calibration | None:
    """The modality model's calibration: ``$FORTIFY_HOME/calibration/<model>.json`` or packaged.

    Looked up once per gallery and modality (every search needs it; files are read once).
    """
    if modality not in self.calibration_cache:
        self.calibration_cache[modality] = _find_calibration(self, modality)
    return self.calibration_cache[modality]


def _find_calibration(self: Gallery, modality: str = "face") -> Calibration | None:
    model_id = self.index_for(modality).model_id
    for directory in (self.settings.home / "calibration", None):
        try:
            return load_calibration(model_id, directory)
        except ConfigError:
            continue
    log.warning("no calibration for %s: no false-positive estimates", model_id)
    return None


def decision_threshold(
    self: Gallery, modality: str = "face"
) -> tuple[float, str, bool, str | None]:
    """(threshold, "fixed" | "calibrated", resolution_limited, calibration basis) for the
    current gallery; the basis (``per_probe``, ``pooled`` or ``normal_tail``,
    :meth:`Calibration.decide`) is None for a fixed threshold."""
    fixed = (
        self.settings.match_threshold
        if modality == "face"
        else getattr(getattr(self.settings, modality, None), "match_threshold", None)
    )
    cal = calibration(self, modality)
    if fixed is not None:
        return fixed, "fixed", False, None
    index = self.index_for(modality)
    if cal is None:
        raise ConfigError(
            f"model {index.model_id} has no calibration: run `fortify eval {modality} DIR "
            f"--calibration-out $FORTIFY_HOME/calibration/{index.model_id}.json` "
            "or set FORTIFY_MATCH_THRESHOLD"
        )
    thr, limited, basis = cal.decide(self.settings.target_fpir, max(1, index.ntotal))
    return thr, "calibrated", limited, basis


def rank_candidates(
    self: Gallery,
    vector: Probe | list[Template],
    k: int,
    threshold: float,
    modality: str = "face",
) -> list[dict[str, Any]]:
    """Best score per identity over all its templates, at or above threshold, top ``k``.

    Several probes (captures a modality does not fuse into one) are ranked each;
    an identity's score is its best over them.
    """
    probes = vector if isinstance(vector, list) else [vector]
    merged: dict[int, float] = {}
    for p in probes:
        for tid, sc in top_hits(self, p, k, threshold, modality):
            merged[tid] = max(sc, merged.get(tid, -np.inf))
    hits = sorted(merged.items(), key=lambda kv: -kv[1])
    if not hits:
        return []
    cal = calibration(self, modality)
    n = max(1, self.index_for(modality).ntotal)
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
                .order_by(Sample.captured_at.desc(), Sample.created_at.desc())
                .limit(1)
            )
            sc = float(np.clip(score, -1.0, 1.0))
            out.append(
                {
                    "rank": len(out) + 1,
                    "identity_id": iid,
                    "reference": ident.reference,
                    "display_name": ident.display_name,
                    "synthetic": ident.synthetic,
                    "source": ident.source.name,
                    "score": round(sc, 4),
                    "estimated_fpir": float(f"{cal.fpir(sc, n):.3g}") if cal else None,
                    "matched_sample_id": sample_id,
                    "photo_sample_id": photo,
                    "photo_url": f"/v1/samples/{photo}/image" if photo else None,
                    "samples_compared": int(counts.get(iid, 0)),
                    "attributes": ident.attributes,
                }
            )
    return out


def top_hits(
    self: Gallery, vector: Probe, k: int, threshold: float, modality: str = "face"
) -> list[tuple[int, float]]:
    """(template id, score) pairs at or above threshold, best first.

    Face: the index scores are the cosine scores. A modality with a shortlist
    (finger) preselects by its index vector and re-scores the shortlist 1:1.
    """
    index = self.index_for(modality)
    n = index.ntotal
    if n == 0:
        index.catch_up()
        n = index.ntotal
        if n == 0:
            return []
    mod = self.modality(modality)
    v = vector.vector if isinstance(vector, Template) else vector
    kk = min(max(4 * k + 16, 32), n)
    if mod.search_shortlist > 0 and isinstance(vector, Template):
        kk = min(max(kk, mod.search_shortlist), n)
    d, ids = index.refresh_and_search(np.asarray(v, np.float32)[None, :], kk)
    pairs = [(int(i), float(sc)) for i, sc in zip(ids[0], d[0], strict=True) if i >= 0]
    if mod.search_shortlist > 0 and isinstance(vector, Template):
        pairs = rescore(self, mod, vector, [i for i, _ in pairs])
    return [(i, sc) for i, sc in pairs if sc >= threshold]


def rescore(
    self: Gallery, mod: Modality, probe: Template, ids: list[int]
) -> list[tuple[int, float]]:
    """Re-score a shortlist of stored templates with the modality's 1:1 matcher."""
    if not ids:
        return []
    with self.db.session() as s:
        rows = s.execute(select(TemplateRow.id, TemplateRow.data).where(TemplateRow.id.in_(ids)))
        scored = [(int(r.id), mod.compare(probe, decode(r.data))) for r in rows]
    return sorted(scored, key=lambda p: -p[1])


def consistency(
    self: Gallery,
    vectors: Sequence[Probe],
    threshold: float,
    fused: list[dict[str, Any]] | None = None,
    modality: str = "face",
) -> dict[str, Any]:
    """Does each capture on its own point at the same top candidate (or at none)?

    With one capture the fused ranking is that capture's ranking (``fused``).
    """
    per: list[dict[str, Any]] = []
    if len(vectors) == 1 and fused is not None:
        top = fused[0] if fused else None
        per.append(
            {
                "capture": 1,
                "top_identity_id": top["identity_id"] if top else None,
                "top_score": top["score"] if top else None,
                **_position(vectors[0]),
            }
        )
        return {"agree": True, "warning": None, "min_capture_similarity": None, "per_capture": per}
    for i, v in enumerate(vectors):
        hits = top_hits(self, v, 1, threshold, modality)
        ident = None
        if hits:
            with self.db.session() as s:
                ident = s.scalar(
                    select(TemplateRow.identity_id).where(TemplateRow.id == hits[0][0])
                )
        per.append(
            {
                "capture": i + 1,
                "top_identity_id": ident,
                "top_score": round(hits[0][1], 4) if hits else None,
                **_position(v),
            }
        )
    tops = {p["top_identity_id"] for p in per}
    sims = _capture_similarities(self, vectors, modality)
    same_cut = same_person_cut(self, modality)
    warning = None
    agree = len(tops) == 1
    if not agree:
        warning = DISAGREE
    elif sims and min(sims) < same_cut:
        agree, warning = False, DIFFERENT
    return {
        "agree": agree,
        "warning": warning,
        "min_capture_similarity": round(min(sims), 4) if sims else None,
        "per_capture": per,
    }


def _position(probe: Probe) -> dict[str, int]:
    """A finger capture's position (the per-finger rows of a four-finger search)."""
    if isinstance(probe, Template) and probe.finger_position:
        return {"finger_position": probe.finger_position}
    return {}


def _capture_similarities(self: Gallery, probes: Sequence[Probe], modality: str) -> list[float]:
    """1:1 scores between the captures (fingers: only pairs that may be the same finger)."""
    mod = self.modality(modality)
    out: list[float] = []
    for a, b in combinations(probes, 2):
        if isinstance(a, Template) and isinstance(b, Template):
            fa, fb = a.finger_position, b.finger_position
            if fa and fb and fa != fb:
                continue  # two different fingers of one hand say nothing about each other
            out.append(mod.compare(a, b))
        else:
            va = a.vector if isinstance(a, Template) else a
            vb = b.vector if isinstance(b, Template) else b
            out.append(float(np.dot(va, vb)))
    return out


def same_person_cut(self: Gallery, modality: str = "face") -> float:
    """Score below which two captures are unlikely to be one person (FMR 1%)."""
    cal = calibration(self, modality)
    if cal is None and modality != "face":  # no table: the modality's fixed cut, if any
        fixed = getattr(getattr(self.settings, modality, None), "match_threshold", None)
        return float(fixed) if fixed is not None else 0.0
    if cal is None:
        return 0.9
    thr, _ = cal.threshold(0.01, 1)
    return thr
