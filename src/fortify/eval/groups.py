"""Per-demographic-group open-set metrics at one global threshold (fairness reporting).

One threshold for everybody (the global FPIR target's); each group's FPIR and FNIR at it,
and the worst/best FPIR ratio, bounded by one event where the best group has none.
Conventions as in :mod:`fortify.eval.metrics`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from fortify.eval.metrics import (
    OpenSetResult,
    _json_float,
    _mated_hits,
    _scores,
    open_set_identification,
)

logger = logging.getLogger(__name__)


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
    labelled: bool = True
    """False for the probes without a group label: reported, never in a ratio."""

    @property
    def rated(self) -> bool:
        """In the worst/best ratios: a labelled group with enough probes."""
        return self.labelled and not self.low_sample

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "n_mated": self.n_mated,
            "n_nonmated": self.n_nonmated,
            "n_false_positives": self.n_false_positives,
            "fpir_at_global_threshold": self.fpir_at_global_threshold,
            "fnir_at_global_threshold": self.fnir_at_global_threshold,
            "low_sample": self.low_sample,
            "labelled": self.labelled,
            "rated": self.rated,
            "open_set": None if self.open_set is None else self.open_set.to_dict(),
        }


@dataclass(frozen=True)
class PerGroupResult:
    """Per-group open-set metrics and FPIR disparity at one global threshold.

    ``fpir_ratio_worst_to_best`` only uses the rated groups (labelled, not ``low_sample``);
    None when fewer than two such groups exist and ``inf`` when the best is 0. ``to_dict``
    reports the bounded ratio instead: the best group's FPIR is floored at one event (1 / its
    non-mated searches), so a best group with no false positive gives a finite lower bound
    (``fpir_ratio_is_lower_bound``), next to both groups' false-positive counts.
    """

    global_fpir_target: float
    global_threshold: float
    groups: Mapping[str, GroupResult]
    fpir_ratio_worst_to_best: float | None
    worst_fpir_group: str | None
    best_fpir_group: str | None
    fnir_ratio_worst_to_best: float | None = None
    """Worst / best FNIR at the global threshold over the rated groups, the best floored
    at one event (1 / its mated searches) where it has no miss; None under two groups."""
    worst_fnir_group: str | None = None
    best_fnir_group: str | None = None

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
            "fnir_ratio_worst_to_best": self.fnir_ratio_worst_to_best,
            "worst_fnir_group": self.worst_fnir_group,
            "best_fnir_group": self.best_fnir_group,
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
    unrated: Sequence[str] = ("unknown",),
) -> PerGroupResult:
    """Open-set metrics per group, plus FPIR/FNIR at the threshold set on *all* probes.

    Group labels are compared as strings. ``failed_*_groups`` give one label per probe that
    failed to acquire. Groups with fewer than ``min_mated`` mated or ``min_nonmated``
    non-mated probes are flagged ``low_sample`` and left out of the disparity ratio, as
    are the ``unrated`` labels (probes without a group: not a demographic group).
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
        results[name] = GroupResult(
            name, n_m, n_n, fpir, fnir, sub, low, n_fp if n_n else None, name not in unrated
        )

    rated = {
        k: g.fpir_at_global_threshold
        for k, g in results.items()
        if g.rated and g.fpir_at_global_threshold is not None
    }
    ratio: float | None = None
    worst = best = None
    if len(rated) >= 2:
        worst = max(rated, key=lambda k: rated[k] or 0.0)
        best = min(rated, key=lambda k: rated[k] or 0.0)
        hi, lo = rated[worst] or 0.0, rated[best] or 0.0
        ratio = hi / lo if lo > 0 else (math.inf if hi > 0 else 1.0)
    fn = {
        k: (g.fnir_at_global_threshold, g.n_mated)
        for k, g in results.items()
        if g.rated and g.fnir_at_global_threshold is not None
    }
    fn_ratio: float | None = None
    fn_worst = fn_best = None
    if len(fn) >= 2:
        fn_worst = max(fn, key=lambda k: fn[k][0])
        fn_best = min(fn, key=lambda k: fn[k][0])
        hi, (lo, n) = fn[fn_worst][0], fn[fn_best]
        fn_ratio = max(1.0, hi / max(lo, 1.0 / n))
    return PerGroupResult(
        global_fpir_target, thr, results, ratio, worst, best, fn_ratio, fn_worst, fn_best
    )
