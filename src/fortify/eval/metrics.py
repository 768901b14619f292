"""Score-level biometric metrics in ISO/IEC 19795-1 and NIST FRTE 1:N terms.

Everything here works on plain score arrays (higher score = more similar), so it is
independent of the modality that produced the scores.

Conventions used throughout:

* A comparison is *accepted* at threshold ``T`` when ``score >= T``.
* NaN scores mean "no comparison / no candidate" and are never accepted.
* Failures to acquire (FTA) are counted in the denominators: a mated probe that failed is a
  miss at every threshold, a non-mated probe that failed can never be a false positive.
* The threshold reported for a target false-positive rate is the *smallest* threshold whose
  empirical rate is ``<= target``. It lies just above a non-mated score (``numpy.nextafter``),
  so it is generally not itself one of the observed scores.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

logger = logging.getLogger(__name__)

FloatArray = NDArray[np.float64]
_TOL = 1e-9


def _key(x: float) -> str:
    return f"{x:g}"


def _json_float(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _scores(values: ArrayLike) -> FloatArray:
    arr = np.asarray(values, dtype=np.float64).ravel()
    return np.where(np.isnan(arr), -np.inf, arr)


def _check_targets(targets: Sequence[float], name: str) -> tuple[float, ...]:
    out = tuple(float(t) for t in targets)
    if not out or any(not 0.0 < t <= 1.0 for t in out):
        raise ValueError(f"{name} must be a non-empty sequence of rates in (0, 1], got {out!r}")
    return out


def _check_count(n: int, name: str) -> int:
    if int(n) != n or n < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {n!r}")
    return int(n)


def _count_ge(sorted_scores: FloatArray, t: float | FloatArray) -> NDArray[np.int64]:
    """Number of entries ``>= t`` in an ascending array (vectorised over ``t``)."""
    return np.asarray(sorted_scores.size - np.searchsorted(sorted_scores, t, side="left"))


def _threshold_for(neg_sorted: FloatArray, n_total: int, target: float) -> tuple[float, bool]:
    """Smallest ``T`` with ``#(neg >= T) / n_total <= target``; also the resolution flag."""
    allowed = math.floor(target * n_total + _TOL)
    limited = target * n_total < 1.0 - _TOL
    accepted = neg_sorted[neg_sorted > -np.inf]
    if allowed >= accepted.size:
        return -math.inf, limited
    # The (allowed+1)-th largest score must be rejected, everything strictly above it may pass.
    pivot = float(accepted[accepted.size - allowed - 1])
    return float(np.nextafter(pivot, math.inf)), limited


# --------------------------------------------------------------------------- open-set 1:N


@dataclass(frozen=True)
class OperatingPoint:
    """One point on an error trade-off: threshold and the two error rates there."""

    target: float
    threshold: float
    false_positive_rate: float
    false_negative_rate: float
    resolution_limited: bool


@dataclass(frozen=True)
class OpenSetResult:
    """Open-set identification results (NIST FRTE 1:N terminology).

    ``n_mated`` / ``n_nonmated`` include failures to acquire; rank-k rates and FNIR use
    ``n_mated`` as denominator, FPIR uses ``n_nonmated``.
    """

    rank_k: Mapping[int, float]
    operating_points: tuple[OperatingPoint, ...]
    fnir_rank: int
    failure_to_acquire: float
    n_mated: int
    n_nonmated: int
    n_failed_mated: int
    n_failed_nonmated: int

    @property
    def rank1(self) -> float:
        return self.rank_k[1]

    def at_fpir(self, target: float) -> OperatingPoint:
        for op in self.operating_points:
            if math.isclose(op.target, target):
                return op
        raise KeyError(f"no operating point for FPIR target {target}")

    def to_dict(self) -> dict[str, Any]:
        """Flat, JSON-friendly dict (non-finite thresholds become ``None``)."""
        out: dict[str, Any] = {f"rank{k}": v for k, v in sorted(self.rank_k.items())}
        for op in self.operating_points:
            k = _key(op.target)
            out[f"fnir_at_fpir_{k}"] = op.false_negative_rate
            out[f"threshold_at_fpir_{k}"] = _json_float(op.threshold)
            out[f"achieved_fpir_at_fpir_{k}"] = op.false_positive_rate
            out[f"resolution_limited_at_fpir_{k}"] = op.resolution_limited
        out.update(
            fnir_rank=self.fnir_rank,
            failure_to_acquire=self.failure_to_acquire,
            n_mated=self.n_mated,
            n_nonmated=self.n_nonmated,
            n_failed_mated=self.n_failed_mated,
            n_failed_nonmated=self.n_failed_nonmated,
        )
        return out


def _mated_hits(mated_scores: ArrayLike, mated_ranks: ArrayLike, rank: int) -> FloatArray:
    """Mate score where the mate is returned at rank ``<= rank``, else ``-inf``."""
    scores = _scores(mated_scores)
    ranks = np.asarray(mated_ranks, dtype=np.float64).ravel()
    if scores.shape != ranks.shape:
        raise ValueError(
            f"mated_scores and mated_ranks differ in length ({scores.size} vs {ranks.size})"
        )
    ok = (ranks >= 1) & (ranks <= rank)
    return np.where(ok, scores, -np.inf)


def open_set_identification(
    mated_scores: ArrayLike,
    mated_ranks: ArrayLike,
    nonmated_top_scores: ArrayLike,
    fpir_targets: Sequence[float] = (0.1, 0.01, 0.001),
    *,
    n_failed_mated: int = 0,
    n_failed_nonmated: int = 0,
    rank: int = 1,
    ranks: Sequence[int] = (1, 5, 10),
) -> OpenSetResult:
    """Rank-k identification rates and FNIR at fixed FPIR for a 1:N search experiment.

    Args:
        mated_scores: per mated probe, score of the true mate in its candidate list
            (``-inf`` or NaN when the mate was not returned).
        mated_ranks: per mated probe, 1-based rank of the mate (``0``/huge/NaN if absent).
        nonmated_top_scores: per non-mated probe, its best candidate score (NaN if the
            candidate list was empty).
        fpir_targets: FPIR values at which to set the threshold and report FNIR.
        n_failed_mated: mated probes that failed to acquire (misses at every threshold).
        n_failed_nonmated: non-mated probes that failed to acquire (never false positives,
            but in the FPIR denominator).
        rank: a mated search is a hit at ``T`` iff the mate is at rank ``<= rank`` with
            score ``>= T`` (NIST uses 1).
        ranks: the k values for the rank-k identification rates (1 is always included).

    Raises:
        ValueError: on empty mated or non-mated sets (counting failures), length mismatches
            or invalid targets.
    """
    targets = _check_targets(fpir_targets, "fpir_targets")
    f_m = _check_count(n_failed_mated, "n_failed_mated")
    f_n = _check_count(n_failed_nonmated, "n_failed_nonmated")
    if rank < 1:
        raise ValueError(f"rank must be >= 1, got {rank}")
    raw_ranks = np.asarray(mated_ranks, dtype=np.float64).ravel()
    hits = _mated_hits(mated_scores, raw_ranks, rank)
    neg = np.sort(_scores(nonmated_top_scores))
    n_mated, n_nonmated = hits.size + f_m, neg.size + f_n
    if n_mated == 0:
        raise ValueError("no mated probes: mated_scores is empty and n_failed_mated is 0")
    if n_nonmated == 0:
        raise ValueError(
            "no non-mated probes: nonmated_top_scores is empty and n_failed_nonmated is 0"
        )

    rank_k = {
        int(k): float(np.count_nonzero((raw_ranks >= 1) & (raw_ranks <= k)) / n_mated)
        for k in sorted({1, *ranks})
    }
    hits_sorted = np.sort(hits)
    points = []
    for target in targets:
        thr, limited = _threshold_for(neg, n_nonmated, target)
        fpir = float(_count_ge(neg[neg > -np.inf], thr)) / n_nonmated
        fnir = 1.0 - float(_count_ge(hits_sorted[hits_sorted > -np.inf], thr)) / n_mated
        if limited:
            logger.debug("FPIR target %g below resolution 1/%d", target, n_nonmated)
        points.append(OperatingPoint(target, thr, fpir, fnir, limited))
    n_total = n_mated + n_nonmated
    return OpenSetResult(
        rank_k=rank_k,
        operating_points=tuple(points),
        fnir_rank=rank,
        failure_to_acquire=(f_m + f_n) / n_total,
        n_mated=n_mated,
        n_nonmated=n_nonmated,
        n_failed_mated=f_m,
        n_failed_nonmated=f_n,
    )


# --------------------------------------------------------------------------- verification 1:1


@dataclass(frozen=True)
class VerificationResult:
    """1:1 verification: FNMR at fixed FMR and the equal error rate."""

    operating_points: tuple[OperatingPoint, ...]
    eer: float
    eer_threshold: float
    n_genuine: int
    n_impostor: int

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for op in self.operating_points:
            k = _key(op.target)
            out[f"fnmr_at_fmr_{k}"] = op.false_negative_rate
            out[f"threshold_at_fmr_{k}"] = _json_float(op.threshold)
            out[f"achieved_fmr_at_fmr_{k}"] = op.false_positive_rate
            out[f"resolution_limited_at_fmr_{k}"] = op.resolution_limited
        out.update(
            eer=self.eer,
            eer_threshold=_json_float(self.eer_threshold),
            n_genuine=self.n_genuine,
            n_impostor=self.n_impostor,
        )
        return out


def _eer(pos_sorted: FloatArray, neg_sorted: FloatArray) -> tuple[float, float]:
    """Equal error rate by linear interpolation where FNMR - FMR changes sign."""
    finite = np.concatenate([pos_sorted, neg_sorted])
    finite = np.unique(finite[np.isfinite(finite)])
    if finite.size == 0:
        return 0.5, 0.0
    thr = np.concatenate([finite, [np.nextafter(finite[-1], np.inf)]])
    fmr = _count_ge(neg_sorted, thr) / neg_sorted.size
    fnmr = 1.0 - _count_ge(pos_sorted, thr) / pos_sorted.size
    diff = fnmr - fmr  # non-decreasing in the threshold
    i = int(np.argmax(diff >= 0))
    if diff[i] == 0 or i == 0:
        return float(fmr[i]), float(thr[i])
    lam = -diff[i - 1] / (diff[i] - diff[i - 1])
    eer = fmr[i - 1] + lam * (fmr[i] - fmr[i - 1])
    return float(eer), float(thr[i - 1] + lam * (thr[i] - thr[i - 1]))


def verification_rates(
    genuine_scores: ArrayLike,
    impostor_scores: ArrayLike,
    fmr_targets: Sequence[float] = (1e-3, 1e-4),
) -> VerificationResult:
    """Threshold and FNMR at each FMR target, plus the EER (NaN scores never match)."""
    targets = _check_targets(fmr_targets, "fmr_targets")
    pos = np.sort(_scores(genuine_scores))
    neg = np.sort(_scores(impostor_scores))
    if pos.size == 0 or neg.size == 0:
        raise ValueError(
            f"need genuine and impostor scores, got {pos.size} genuine / {neg.size} impostor"
        )
    points = []
    for target in targets:
        thr, limited = _threshold_for(neg, neg.size, target)
        fmr = float(_count_ge(neg[neg > -np.inf], thr)) / neg.size
        fnmr = 1.0 - float(_count_ge(pos[pos > -np.inf], thr)) / pos.size
        points.append(OperatingPoint(target, thr, fmr, fnmr, limited))
    eer, eer_thr = _eer(pos, neg)
    return VerificationResult(tuple(points), eer, eer_thr, int(pos.size), int(neg.size))


# --------------------------------------------------------------------------- DET curves


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


# --------------------------------------------------------------------------- score calibration


@dataclass(frozen=True, eq=False)
class FmrTable:
    """Empirical score -> false-match-rate calibration.

    ``fmr[i] = (count(impostor >= scores[i]) + 1) / (n_impostor + 1)`` at ascending knots
    ``scores``; between knots the log-rate is interpolated linearly, above the top knot the
    floor ``1 / (n_impostor + 1)`` applies, so the estimate is never 0.
    """

    scores: FloatArray
    fmr: FloatArray
    n_impostor: int

    @property
    def floor(self) -> float:
        return 1.0 / (self.n_impostor + 1)

    def estimate_many(self, scores: ArrayLike) -> FloatArray:
        s = np.asarray(scores, dtype=np.float64)
        log_fmr = np.interp(s, self.scores, np.log(self.fmr), left=0.0, right=math.log(self.floor))
        out = np.array(np.exp(log_fmr), dtype=np.float64)
        out[np.isnan(s)] = 1.0
        out[s > self.scores[-1]] = self.floor
        return np.asarray(np.clip(out, self.floor, 1.0), dtype=np.float64)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "fortify.fmr_table/1",
            "n_impostor": self.n_impostor,
            "scores": self.scores.tolist(),
            "fmr": self.fmr.tolist(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FmrTable:
        if data.get("format") != "fortify.fmr_table/1":
            raise ValueError(f"unsupported FMR table format {data.get('format')!r}")
        scores = np.asarray(data["scores"], dtype=np.float64)
        fmr = np.asarray(data["fmr"], dtype=np.float64)
        n = int(data["n_impostor"])
        if (
            scores.ndim != 1
            or scores.shape != fmr.shape
            or scores.size == 0
            or n < 1
            or np.any(np.diff(scores) <= 0)
            or np.any(np.diff(fmr) > 0)
            or np.any((fmr <= 0) | (fmr > 1))
        ):
            raise ValueError("malformed FMR table: need ascending scores, non-increasing fmr")
        return cls(scores, fmr, n)


def score_to_fpr_table(impostor_scores: ArrayLike, n_points: int = 512) -> FmrTable:
    """Build an :class:`FmrTable` from impostor (non-mated) scores.

    Knots are the scores at log-spaced tail counts (1, 2, 3, ... #impostors at or above),
    so the low-FMR region that matters for thresholds keeps full resolution.
    """
    arr = np.asarray(impostor_scores, dtype=np.float64).ravel()
    neg = np.sort(arr[np.isfinite(arr)])
    if neg.size == 0:
        raise ValueError("score_to_fpr_table needs at least one finite impostor score")
    if n_points < 2:
        raise ValueError(f"n_points must be >= 2, got {n_points}")
    n = neg.size
    counts = np.unique(np.geomspace(1, n, n_points).round().astype(np.int64))
    knots = np.unique(neg[n - counts])
    fmr = (_count_ge(neg, knots) + 1.0) / (n + 1.0)
    return FmrTable(knots, fmr.astype(np.float64), int(n))


def estimate_fmr(score: float, table: FmrTable) -> float:
    """Estimated false-match rate for one score (monotone non-increasing, never 0)."""
    return float(table.estimate_many(np.asarray([score]))[0])


# --------------------------------------------------------------------------- demographic groups


@dataclass(frozen=True)
class GroupResult:
    """Metrics for one group. ``open_set`` is None when the group lacks mated or non-mated."""

    group: str
    n_mated: int
    n_nonmated: int
    fpir_at_global_threshold: float | None
    fnir_at_global_threshold: float | None
    open_set: OpenSetResult | None
    low_sample: bool
    n_false_positives: int | None = None  # non-mated searches at or above the threshold

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "n_mated": self.n_mated,
            "n_nonmated": self.n_nonmated,
            "n_false_positives": self.n_false_positives,
            "fpir_at_global_threshold": self.fpir_at_global_threshold,
            "fnir_at_global_threshold": self.fnir_at_global_threshold,
            "low_sample": self.low_sample,
            "open_set": None if self.open_set is None else self.open_set.to_dict(),
        }


@dataclass(frozen=True)
class PerGroupResult:
    """Per-group open-set metrics and FPIR disparity at one global threshold.

    ``fpir_ratio_worst_to_best`` only uses groups that are not ``low_sample``; it is None when
    fewer than two such groups exist and ``inf`` when the best is 0. ``to_dict`` reports the
    bounded ratio instead: the best group's FPIR is floored at one event (1 / its non-mated
    searches), so a best group with no false positive gives a finite lower bound
    (``fpir_ratio_is_lower_bound``), next to both groups' false-positive counts.
    """

    global_fpir_target: float
    global_threshold: float
    groups: Mapping[str, GroupResult]
    fpir_ratio_worst_to_best: float | None
    worst_fpir_group: str | None
    best_fpir_group: str | None

    def bounded_ratio(self) -> tuple[float | None, bool]:
        """(worst / max(best, one event), floored?) over the rated groups."""
        if self.worst_fpir_group is None or self.best_fpir_group is None:
            return None, False
        w, b = self.groups[self.worst_fpir_group], self.groups[self.best_fpir_group]
        hi = w.fpir_at_global_threshold or 0.0
        lo = b.fpir_at_global_threshold or 0.0
        floor = 1.0 / max(1, b.n_nonmated)
        if lo >= floor:
            return hi / lo, False
        return (hi / floor if hi > 0 else 1.0), hi > 0

    def to_dict(self) -> dict[str, Any]:
        ratio, floored = self.bounded_ratio()
        w = self.groups.get(self.worst_fpir_group or "")
        b = self.groups.get(self.best_fpir_group or "")
        return {
            "global_fpir_target": self.global_fpir_target,
            "global_threshold": _json_float(self.global_threshold),
            "fpir_ratio_worst_to_best": None if ratio is None else _json_float(ratio),
            "fpir_ratio_is_lower_bound": floored,
            "false_positives_worst": None if w is None else w.n_false_positives,
            "false_positives_best": None if b is None else b.n_false_positives,
            "worst_fpir_group": self.worst_fpir_group,
            "best_fpir_group": self.best_fpir_group,
            "groups": {k: g.to_dict() for k, g in self.groups.items()},
        }


def _labels(values: ArrayLike | Sequence[Any], size: int, name: str) -> NDArray[np.str_]:
    arr = np.asarray([str(v) for v in np.asarray(values, dtype=object).ravel()], dtype=np.str_)
    if arr.size != size:
        raise ValueError(f"{name} has {arr.size} labels for {size} probes")
    return arr


def per_group(
    mated_scores: ArrayLike,
    mated_ranks: ArrayLike,
    mated_groups: Sequence[Any] | ArrayLike,
    nonmated_top_scores: ArrayLike,
    nonmated_groups: Sequence[Any] | ArrayLike,
    *,
    global_fpir_target: float = 0.01,
    fpir_targets: Sequence[float] = (0.1, 0.01, 0.001),
    failed_mated_groups: Sequence[Any] = (),
    failed_nonmated_groups: Sequence[Any] = (),
    rank: int = 1,
    min_mated: int = 20,
    min_nonmated: int = 100,
) -> PerGroupResult:
    """Open-set metrics per group, plus FPIR/FNIR at the threshold set on *all* probes.

    Group labels are compared as strings. ``failed_*_groups`` give one label per probe that
    failed to acquire. Groups with fewer than ``min_mated`` mated or ``min_nonmated``
    non-mated probes are flagged ``low_sample`` and left out of the disparity ratio.
    """
    m_scores = _scores(mated_scores)
    m_ranks = np.asarray(mated_ranks, dtype=np.float64).ravel()
    n_scores = _scores(nonmated_top_scores)
    m_groups = _labels(mated_groups, m_scores.size, "mated_groups")
    n_groups = _labels(nonmated_groups, n_scores.size, "nonmated_groups")
    fm_groups = _labels(failed_mated_groups, len(failed_mated_groups), "failed_mated_groups")
    fn_groups = _labels(
        failed_nonmated_groups, len(failed_nonmated_groups), "failed_nonmated_groups"
    )
    overall = open_set_identification(
        m_scores,
        m_ranks,
        n_scores,
        (global_fpir_target,),
        n_failed_mated=fm_groups.size,
        n_failed_nonmated=fn_groups.size,
        rank=rank,
    )
    thr = overall.operating_points[0].threshold
    hits = _mated_hits(m_scores, m_ranks, rank)
    names = sorted(
        {*m_groups.tolist(), *n_groups.tolist(), *fm_groups.tolist(), *fn_groups.tolist()}
    )
    results: dict[str, GroupResult] = {}
    for name in names:
        mm, nm = m_groups == name, n_groups == name
        f_m = int(np.count_nonzero(fm_groups == name))
        f_n = int(np.count_nonzero(fn_groups == name))
        n_m, n_n = int(mm.sum()) + f_m, int(nm.sum()) + f_n
        n_fp = int(np.count_nonzero(n_scores[nm] >= thr))
        fpir = float(n_fp) / n_n if n_n else None
        fnir = 1.0 - float(np.count_nonzero(hits[mm] >= thr)) / n_m if n_m else None
        sub = None
        if n_m and n_n:
            sub = open_set_identification(
                m_scores[mm],
                m_ranks[mm],
                n_scores[nm],
                fpir_targets,
                n_failed_mated=f_m,
                n_failed_nonmated=f_n,
                rank=rank,
            )
        low = n_m < min_mated or n_n < min_nonmated
        if low:
            logger.info("group %r has few samples (%d mated, %d non-mated)", name, n_m, n_n)
        results[name] = GroupResult(name, n_m, n_n, fpir, fnir, sub, low, n_fp if n_n else None)

    rated = {
        k: g.fpir_at_global_threshold
        for k, g in results.items()
        if not g.low_sample and g.fpir_at_global_threshold is not None
    }
    ratio: float | None = None
    worst = best = None
    if len(rated) >= 2:
        worst = max(rated, key=lambda k: rated[k] or 0.0)
        best = min(rated, key=lambda k: rated[k] or 0.0)
        hi, lo = rated[worst] or 0.0, rated[best] or 0.0
        ratio = hi / lo if lo > 0 else (math.inf if hi > 0 else 1.0)
    return PerGroupResult(global_fpir_target, thr, results, ratio, worst, best)
