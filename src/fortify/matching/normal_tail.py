"""The far impostor tail as a normal tail fitted on the body: FMR beyond what data resolve.

A threshold for a gallery of ``N`` templates sits where the per-comparison false-match rate
is about ``target / N``: 1e-4 for a hundred templates, 1e-8 for a million. Empirical
impostor tables stop being evidence well before that, for two reasons:

* **resolution**: 8.5 million impostor pairs resolve FMR down to about 1e-7, no further;
* **label noise**: in evaluation data a person filed under two identities makes dozens of
  "impostor" pairs at genuine scores. On the face dev photos every impostor pair above
  cosine 0.594 comes from seven folders known to be mislabelled; with them the empirical
  score at FMR 1e-5 reads 0.636, without them 0.490 (``bench/bench_tail.py``). A
  threshold read off that part of the table answers the question "how similar are two
  photos of one person", not "how similar are two people".

So above ``join`` (by default where the table's FMR is 1e-4) the rate is modelled:
``FMR(s) = Q(a + b s)``, ``Q`` the standard normal upper tail, fitted by least squares on
``Q^-1(FMR)`` against the score over the body ``[lo_fmr, hi_fmr]`` (1e-4 to 1e-2) where
label noise is too rare to matter. On the dev data the model fitted on the noisy table
predicts the cleaned table's scores at FMR 1e-4, 1e-5 and 1e-6 within 0.002, 0.002 and
0.02 (on the cautious side), and a model fitted on one half of the identities predicts
the other half's (``bench_tail.py``). Beyond the data it is an extrapolation, and the
threshold says so (``resolution_limited``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
import numpy.typing as npt

from fortify.eval.metrics import FmrTable

FloatArray = npt.NDArray[np.float64]
_N = NormalDist()
FLOOR = 1e-12
"""The smallest rate the tail gives: a threshold for FPIR 0.01 in a gallery of ten billion
templates needs no less. (A candidate's estimated FMR goes no lower than the calibration
data resolve: :meth:`fortify.matching.calibration.Calibration.fmr`.)"""
_ERFC = np.vectorize(math.erfc, otypes=[np.float64])


def _isf(p: float) -> float:
    """``Q^-1(p)``: the standard normal quantile with upper-tail probability ``p``."""
    return -_N.inv_cdf(p)


@dataclass(frozen=True)
class NormalTail:
    """``FMR(s) = Q(a + b s)`` for scores above ``join``."""

    a: float
    b: float
    join: float
    """The score from which the model replaces the table."""
    fit_fmr: tuple[float, float]
    """The FMR range of the table the line was fitted on."""
    max_residual: float
    """Largest |residual| of the fit, in standard-normal units (the fit's quality)."""

    def fmr(self, scores: npt.ArrayLike) -> FloatArray:
        z = self.a + self.b * np.asarray(scores, np.float64)
        return np.asarray(np.maximum(0.5 * _ERFC(z / math.sqrt(2.0)), FLOOR), np.float64)

    def score_at(self, fmr: float) -> float:
        """The score whose modelled FMR is ``fmr`` (at least :data:`FLOOR`)."""
        return (_isf(min(max(fmr, FLOOR), 0.5)) - self.a) / self.b

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "fortify.normal_tail/1",
            "a": self.a,
            "b": self.b,
            "join": self.join,
            "fit_fmr": list(self.fit_fmr),
            "max_residual": self.max_residual,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NormalTail:
        if data.get("format") != "fortify.normal_tail/1":
            raise ValueError(f"unsupported tail format {data.get('format')!r}")
        lo, hi = (float(v) for v in data["fit_fmr"])
        t = cls(float(data["a"]), float(data["b"]), float(data["join"]), (lo, hi),
                float(data["max_residual"]))  # fmt: skip
        if not (t.b > 0 and 0 < lo < hi < 1 and all(map(math.isfinite, (t.a, t.join)))):
            raise ValueError("malformed normal tail: need b > 0 and 0 < lo < hi < 1")
        return t


def fit_normal_tail(
    table: FmrTable, lo_fmr: float = 1e-4, hi_fmr: float = 1e-2, join_fmr: float = 1e-4
) -> NormalTail | None:
    """Fit the tail on the table's knots with ``lo_fmr <= FMR <= hi_fmr``; None if the table
    has fewer than 5 knots there (too few impostors) or the fitted line does not fall."""
    if not 0 < lo_fmr < hi_fmr < 0.5 or join_fmr < lo_fmr:
        raise ValueError("need 0 < lo_fmr <= join_fmr and lo_fmr < hi_fmr < 0.5")
    sel = (table.fmr >= lo_fmr) & (table.fmr <= hi_fmr)
    if int(sel.sum()) < 5:
        return None
    s = table.scores[sel]
    z = np.array([_isf(float(f)) for f in table.fmr[sel]])
    b, a = np.polyfit(s, z, 1)
    if not b > 0:
        return None
    resid = float(np.max(np.abs(z - (a + b * s))))
    join = float(table.scores[sel][np.argmin(np.abs(np.log(table.fmr[sel] / join_fmr)))])
    return NormalTail(float(a), float(b), join, (lo_fmr, hi_fmr), round(resid, 4))
