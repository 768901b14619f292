"""Ranking a template against the gallery, calibrated thresholds, capture consistency."""

from __future__ import annotations

import logging
from itertools import combinations
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import func, select

from fortify.errors import ConfigError
from fortify.matching.calibration import Calibration, load_calibration
from fortify.store.tables import Identity, Sample, TemplateRow
from fortify.types import FloatArray

if TYPE_CHECKING:
    from fortify.gallery.core import Gallery

log = logging.getLogger(__name__)

DISAGREE = "The top candidates differ between captures: do not rely on this result."
DIFFERENT = "The captures may not show the same person: do not rely on this result."


def calibration(self: Gallery) -> Calibration | None:
    """The model's calibration: ``$FORTIFY_HOME/calibration/<model>.json`` or the packaged one.

    Looked up once per gallery (every search needs it; the files are read at most once).
    """
    if not self.calibration_cache:
        self.calibration_cache.append(_find_calibration(self))
    return self.calibration_cache[0]


def _find_calibration(self: Gallery) -> Calibration | None:
    for directory in (self.settings.home / "calibration", None):
        try:
            return load_calibration(self.index.model_id, directory)
        except ConfigError:
            continue
    log.warning("no calibration for %s: no false-positive estimates", self.index.model_id)
    return None


def decision_threshold(self: Gallery) -> tuple[float, str, bool]:
    """(threshold, "fixed" | "calibrated", resolution_limited) for the current gallery."""
    fixed = self.settings.match_threshold
    cal = calibration(self)
    if fixed is not None:
        return fixed, "fixed", False
    if cal is None:
        raise ConfigError(
            f"model {self.index.model_id} has no calibration: run `fortify eval face DIR "
            f"--calibration-out $FORTIFY_HOME/calibration/{self.index.model_id}.json` "
            "or set FORTIFY_MATCH_THRESHOLD"
        )
    thr, limited = cal.threshold(self.settings.target_fpir, max(1, self.index.ntotal))
    return thr, "calibrated", limited


def rank_candidates(
    self: Gallery, vector: FloatArray, k: int, threshold: float
) -> list[dict[str, Any]]:
    """Best score per identity over all its templates, at or above threshold, top ``k``."""
    hits = top_hits(self, vector, k, threshold)
    if not hits:
        return []
    cal = calibration(self)
    n = max(1, self.index.ntotal)
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
    self: Gallery, vector: FloatArray, k: int, threshold: float
) -> list[tuple[int, float]]:
    """(template id, score) pairs at or above threshold, best first."""
    n = self.index.ntotal
    if n == 0:
        self.index.catch_up()
        n = self.index.ntotal
        if n == 0:
            return []
    kk = min(max(4 * k + 16, 32), n)
    d, ids = self.index.refresh_and_search(np.asarray(vector, np.float32)[None, :], kk)
    return [
        (int(i), float(sc))
        for i, sc in zip(ids[0], d[0], strict=True)
        if i >= 0 and sc >= threshold
    ]


def consistency(
    self: Gallery,
    vectors: list[FloatArray],
    threshold: float,
    fused: list[dict[str, Any]] | None = None,
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
            }
        )
        return {"agree": True, "warning": None, "min_capture_similarity": None, "per_capture": per}
    for i, v in enumerate(vectors):
        hits = top_hits(self, v, 1, threshold)
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
            }
        )
    tops = {p["top_identity_id"] for p in per}
    sims = [float(np.dot(a, b)) for a, b in combinations(vectors, 2)]
    same_cut = same_person_cut(self)
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


def same_person_cut(self: Gallery) -> float:
    """Score below which two captures are unlikely to be one person (FMR 1%)."""
    cal = calibration(self)
    if cal is None:
        return 0.9
    thr, _ = cal.threshold(0.01, 1)
    return thr
