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
from typing import Any

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
