"""DET curves (error trade-offs at increasing thresholds) for 1:N and 1:1 results.

Conventions as in :mod:`fortify.eval.metrics`; :mod:`fortify.eval.plots` draws them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from fortify.eval.metrics import (
    _TOL,
    FloatArray,
    _check_count,
    _count_ge,
    _json_float,
    _mated_hits,
    _scores,
)


@dataclass(frozen=True, eq=False)
class DetCurve:
    """Error trade-off sampled at increasing thresholds.

    ``kind`` is ``"identification"`` (FPIR vs FNIR) or ``"verification"`` (FMR vs FNMR).
    """

    kind: Literal["identification", "verification"]
    thresholds: FloatArray
    false_positive: FloatArray
    false_negative: FloatArray

    def fnr_at(self, fpr_target: float) -> float:
        """Lowest sampled false-negative rate whose false-positive rate is ``<= target``."""
        ok = self.false_positive <= fpr_target + _TOL
        return float(self.false_negative[ok].min()) if ok.any() else 1.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "thresholds": [_json_float(float(x)) for x in self.thresholds],
            "false_positive": self.false_positive.tolist(),
            "false_negative": self.false_negative.tolist(),
        }


def _subsample(n: int, max_points: int | None) -> NDArray[np.intp]:
    """Indices into n sorted thresholds: linear plus log-spaced towards both ends."""
    if max_points is None or n <= max_points:
        return np.arange(n)
    m = max(max_points // 3, 2)
    geo = np.unique(np.geomspace(1, n, m).astype(np.intp)) - 1
    idx = np.concatenate([np.linspace(0, n - 1, m).astype(np.intp), geo, n - 1 - geo])
    return np.unique(idx)


def det_curve(
    positive_scores: ArrayLike,
    negative_scores: ArrayLike,
    *,
    kind: Literal["identification", "verification"] = "verification",
    n_positive_total: int | None = None,
    n_negative_total: int | None = None,
    max_points: int | None = 2000,
) -> DetCurve:
    """Generic sort-based DET: O((n+m) log(n+m)), fine for millions of scores.

    A positive is a hit when ``score >= T``; a negative is a false positive when
    ``score >= T``. The totals (default: the array sizes) may be larger to account for
    failures to acquire. Thresholds are the distinct observed scores plus one just above
    the maximum (so the curve reaches a false-positive rate of 0), thinned to about
    ``max_points`` keeping dense sampling at both tails.
    """
    pos = np.sort(_scores(positive_scores))
    neg = np.sort(_scores(negative_scores))
    n_pos = pos.size if n_positive_total is None else n_positive_total
    n_neg = neg.size if n_negative_total is None else n_negative_total
    if n_pos < max(pos.size, 1) or n_neg < max(neg.size, 1):
        raise ValueError("DET needs at least one positive and one negative (totals >= sizes)")
    both = np.concatenate([pos, neg])
    thr = np.unique(both[np.isfinite(both)])
    top = np.nextafter(thr[-1], np.inf) if thr.size else 0.0
    thr = np.concatenate([thr, [top]])
    thr = thr[_subsample(thr.size, max_points)]
    fp = _count_ge(neg[neg > -np.inf], thr) / n_neg
    fn = 1.0 - _count_ge(pos[pos > -np.inf], thr) / n_pos
    return DetCurve(kind, thr, fp.astype(np.float64), fn.astype(np.float64))


def identification_det(
    mated_scores: ArrayLike,
    mated_ranks: ArrayLike,
    nonmated_top_scores: ArrayLike,
    *,
    rank: int = 1,
    n_failed_mated: int = 0,
    n_failed_nonmated: int = 0,
    max_points: int | None = 2000,
) -> DetCurve:
    """FPIR vs FNIR over thresholds, same conventions as :func:`open_set_identification`."""
    hits = _mated_hits(mated_scores, mated_ranks, rank)
    neg = _scores(nonmated_top_scores)
    return det_curve(
        hits,
        neg,
        kind="identification",
        n_positive_total=hits.size + _check_count(n_failed_mated, "n_failed_mated"),
        n_negative_total=neg.size + _check_count(n_failed_nonmated, "n_failed_nonmated"),
        max_points=max_points,
    )


def verification_det(
    genuine_scores: ArrayLike, impostor_scores: ArrayLike, *, max_points: int | None = 2000
) -> DetCurve:
    """FMR vs FNMR over thresholds."""
    return det_curve(genuine_scores, impostor_scores, kind="verification", max_points=max_points)
