"""How sure is a worst/best group ratio? A bootstrap over identities.

A group's FNIR or FPIR on a dev set of a few hundred people rests on a handful of errors,
so one split's ratio can read 1.2 and the next 3.0 (docs/accuracy.md). This resamples
*identities* with replacement (all probes of a drawn identity move together: they are not
independent), sets the global threshold again at the FPIR target on each resample, as
:func:`fortify.eval.groups.per_group` does, and reports the central interval of the ratio
of the two groups the point estimate found worst and best, in that order. A best group
with no error in a resample is floored at one event (1 / its probes), as in the point
estimate, so every ratio is finite.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from fortify.eval.metrics import _scores, _threshold_for

Floats = NDArray[np.float64]


@dataclass(frozen=True)
class RatioIntervals:
    """Central ``level`` intervals of the worst/best FNIR and FPIR ratios."""

    resamples: int
    level: float
    fnir: tuple[float, float] | None
    fpir: tuple[float, float] | None

    def to_dict(self) -> dict[str, Any]:
        def pair(v: tuple[float, float] | None) -> list[float] | None:
            return None if v is None else [round(v[0], 3), round(v[1], 3)]

        return {
            "resamples": self.resamples,
            "level": self.level,
            "unit": "identity",
            "fnir_ratio_interval": pair(self.fnir),
            "fpir_ratio_interval": pair(self.fpir),
        }


@dataclass(frozen=True)
class Probes:
    """One side of the experiment: a score, an identity and a group per probe.

    A probe that failed to acquire has the score ``-inf`` (a miss at every threshold for a
    mated probe; never a false positive for a non-mated one)."""

    scores: Floats
    identity: NDArray[np.int64]
    """Each probe's identity, as an index into its identities."""
    n_identities: int
    groups: NDArray[np.str_]

    @classmethod
    def of(cls, scores: ArrayLike, identities: Sequence[Any], groups: Sequence[Any]) -> Probes:
        s = _scores(scores)
        ids = np.asarray([str(v) for v in identities], dtype=np.str_)
        gs = np.asarray([str(v) for v in groups], dtype=np.str_)
        if not s.size == ids.size == gs.size:
            raise ValueError("scores, identities and groups differ in length")
        names, inverse = np.unique(ids, return_inverse=True)
        return cls(s, inverse.astype(np.int64), int(names.size), gs)

    def draw(self, rng: np.random.Generator) -> NDArray[np.int64]:
        """How often each probe is in a resample of the identities (with replacement)."""
        n = self.n_identities
        return np.bincount(rng.integers(0, n, n), minlength=n)[self.identity]

    def codes(self, names: Sequence[str]) -> NDArray[np.int64]:
        """Each probe's index in ``names``; ``len(names)`` for the groups not in it."""
        where = {g: k for k, g in enumerate(names)}
        return np.array([where.get(str(g), len(names)) for g in self.groups], np.int64)


def _ratio(code: NDArray[np.int64], error: NDArray[Any], weight: NDArray[Any]) -> float | None:
    """Error rate of group 0 over that of group 1 (floored at one event; 1 if neither has an
    error) among weighted probes; None where a group has no probe. ``code``: each probe's
    group, 0, 1 or 2 (neither)."""
    errors = np.bincount(code, error * weight, minlength=3)[:2]
    counts = np.bincount(code, weight, minlength=3)[:2]
    if counts.min() <= 0:
        return None
    if errors.sum() <= 0:
        return 1.0
    rates = errors / counts
    return float(rates[0] / max(rates[1], 1.0 / counts[1]))


Pair = tuple[str, str]


def group_ratio_intervals(
    mated: Probes,
    nonmated: Probes,
    *,
    fnir_pair: Pair | None,
    fpir_pair: Pair | None,
    global_fpir_target: float = 0.01,
    resamples: int = 1000,
    level: float = 0.9,
    seed: int = 0,
) -> RatioIntervals:
    """Bootstrap intervals of FNIR(worst) / FNIR(best) and FPIR(worst) / FPIR(best).

    Each pair is (worst, best) as the point estimate found them, kept fixed: a lower end
    below 1 says the order itself is not established by these data. ``mated.scores`` are
    the hit scores (``fortify.eval.metrics._mated_hits``); ``nonmated.scores`` the best
    candidate score of each non-mated probe. A resample in which a group of a pair has no
    probe is skipped for that ratio.
    """
    rng = np.random.default_rng(seed)
    fn_ratios: list[float] = []
    fp_ratios: list[float] = []
    m_code = mated.codes(fnir_pair or ())
    n_code = nonmated.codes(fpir_pair or ())
    for _ in range(resamples if fnir_pair or fpir_pair else 0):
        wm, wn = mated.draw(rng), nonmated.draw(rng)
        neg = np.sort(np.repeat(nonmated.scores, wn))
        thr, _ = _threshold_for(neg, neg.size, global_fpir_target)
        if fnir_pair and (r := _ratio(m_code, mated.scores < thr, wm)) is not None:
            fn_ratios.append(r)
        if fpir_pair and (r := _ratio(n_code, nonmated.scores >= thr, wn)) is not None:
            fp_ratios.append(r)
    tail = (1.0 - level) / 2 * 100

    def interval(r: list[float]) -> tuple[float, float] | None:
        if not r:
            return None
        lo, hi = np.percentile(r, [tail, 100 - tail])
        return float(lo), float(hi)

    return RatioIntervals(resamples, level, interval(fn_ratios), interval(fp_ratios))
