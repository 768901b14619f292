"""Per-probe impostor tails: FPIR at a gallery size from each probe's own false-match rate.

The pooled estimate ``1 - (1 - FMR(s)) ** N`` treats every comparison of a search as an
independent draw from one impostor distribution. Impostor scores are not like that: a few
probes (tiny or blurred faces, people who look alike, and in evaluation data people filed
under two labels) reach high scores against many gallery photos, most probes against none.
A search is a false positive once, however many of its comparisons pass, so the pooled
estimate overstates FPIR more the larger the gallery.

This table keeps the probes apart. For each calibration photo ``p`` and each score knot
``s`` it counts ``r_p(s)``, the fraction of its comparisons with photos of other people
that reach ``s``; the FPIR of a non-mated search in a gallery of ``N`` templates is then
estimated as the mean over probes of ``1 - (1 - r_p(s)) ** N`` (probes independent of the
gallery; each probe's comparisons as if drawn from its own rate). Tabulated at a ladder of
gallery sizes, interpolated in log-log between them.

It speaks only for galleries no larger than the number of comparisons each probe had
(``max_size``): there a probe's "any hit among N" is read off what it did against more
than N photos. Beyond that a probe without a single high score could still have a
small rate that a large gallery would reveal, and the pooled estimate (which counts every
comparison) is used instead (:class:`~fortify.matching.calibration.Calibration`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

SIZES = (1, 3, 10, 30, 100, 300, 1_000, 3_000, 10_000, 30_000, 100_000)
"""Gallery sizes the table is tabulated at, below ``max_size``, which is tabulated last."""


@dataclass(frozen=True)
class ProbeTail:
    scores: FloatArray  # ascending score knots (K)
    sizes: FloatArray  # ascending gallery sizes (J)
    fpir: FloatArray  # (K, J): estimated FPIR at each knot and gallery size
    n_probes: int
    max_size: int

    @property
    def floor(self) -> float:
        """The smallest FPIR the probes can resolve."""
        return 1.0 / (self.n_probes + 1)

    def fpir_at(self, scores: npt.ArrayLike, n: int) -> FloatArray:
        """Estimated FPIR at ``scores`` in a gallery of ``n`` templates (``n <= max_size``)."""
        if n > self.max_size:
            raise ValueError(f"gallery of {n} is beyond this table ({self.max_size})")
        col = self._column(max(1, n))
        s = np.asarray(scores, np.float64)
        out = np.exp(np.interp(s, self.scores, np.log(col), left=0.0, right=math.log(col[-1])))
        return np.asarray(np.clip(out, self.floor, 1.0), np.float64)

    def threshold(self, target: float, n: int) -> tuple[float, bool]:
        """(lowest knot whose estimated FPIR is at most ``target``, resolution_limited)."""
        col = self._column(max(1, n))
        ok = np.nonzero(col <= target)[0]
        if ok.size == 0 or target < self.floor:
            return float(self.scores[-1]) + 0.005, True
        return float(self.scores[ok[0]]), False

    def _column(self, n: int) -> FloatArray:
        """FPIR at every knot for ``n``: log-log interpolation between tabulated sizes."""
        logs = np.log(self.sizes)
        lf = np.log(np.clip(self.fpir, self.floor, 1.0))
        x = math.log(n)
        j = int(np.searchsorted(logs, x))
        if j == 0:
            col = lf[:, 0]
        elif j >= len(logs):
            col = lf[:, -1]
        else:
            w = (x - logs[j - 1]) / (logs[j] - logs[j - 1])
            col = (1 - w) * lf[:, j - 1] + w * lf[:, j]
        return np.asarray(np.exp(col), np.float64)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "fortify.probe_tail/1",
            "n_probes": self.n_probes,
            "max_size": self.max_size,
            "scores": [float(s) for s in self.scores],
            "sizes": [int(n) for n in self.sizes],
            "fpir": [[float(f"{v:.4g}") for v in row] for row in self.fpir],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProbeTail:
        if data.get("format") != "fortify.probe_tail/1":
            raise ValueError(f"unsupported probe tail format {data.get('format')!r}")
        scores = np.asarray(data["scores"], np.float64)
        sizes = np.asarray(data["sizes"], np.float64)
        fpir = np.asarray(data["fpir"], np.float64)
        if (
            scores.ndim != 1
            or sizes.ndim != 1
            or fpir.shape != (len(scores), len(sizes))
            or len(sizes) == 0
            or np.any(np.diff(scores) < 0)
            or np.any(np.diff(sizes) <= 0)
            or not np.all(np.isfinite(fpir))
        ):
            raise ValueError("malformed probe tail table")
        return cls(scores, sizes, fpir, int(data["n_probes"]), int(data["max_size"]))


def probe_tail(
    x: npt.ArrayLike, labels: list[str], knots: npt.ArrayLike, *, block: int = 512
) -> ProbeTail:
    """The table for unit templates ``x`` (one row per photo) of people ``labels``.

    Memory stays at ``block`` rows of scores at a time (plus the (photos, knots) counts).
    """
    t = np.asarray(x, np.float32)
    lab = np.asarray(labels, dtype=object)
    k = np.asarray(knots, np.float64)
    n = len(t)
    rates = np.zeros((n, len(k)), np.float64)
    others = np.zeros(n, np.int64)
    for a in range(0, n, block):
        s = t[a : a + block] @ t.T
        same = lab[a : a + block, None] == lab[None, :]
        s[same] = -np.inf
        s.sort(axis=1)
        for i in range(len(s)):
            m = int((~same[i]).sum())
            others[a + i] = m
            if m:
                hits = s.shape[1] - np.searchsorted(s[i], k, side="left")
                rates[a + i] = hits / m
    have = others > 0
    max_size = int(np.median(others[have])) if have.any() else 0
    sizes = np.array([z for z in SIZES if z < max_size] + [max(1, max_size)], np.float64)
    r = rates[have]
    fpir = np.stack([1.0 - _mean_survival(r, z) for z in sizes], axis=1)
    return ProbeTail(k, sizes, np.clip(fpir, 0.0, 1.0), int(have.sum()), max(1, max_size))


def _mean_survival(r: FloatArray, n: float) -> FloatArray:
    """Mean over probes of ``(1 - r) ** n`` per knot, stable for tiny ``r``."""
    return np.asarray(np.exp(n * np.log1p(-np.clip(r, 0.0, 1.0 - 1e-15))).mean(axis=0))
