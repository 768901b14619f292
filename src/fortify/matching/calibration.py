"""Calibrated decisions: what a score means at a given gallery size.

A model ships an empirical impostor-score table (made by ``fortify eval face
--calibration-out``). For a gallery of ``N`` templates the chance that a
non-mated search returns any candidate at or above score ``s`` is estimated as

    FPIR(s, N) = 1 - (1 - FMR(s)) ** N

so the operating threshold for a target FPIR solves ``FMR(t) = 1 - (1 - FPIR) ** (1/N)``.
Templates of one person are correlated, so treating them as independent overstates
FPIR a little: the estimate errs on the side of caution.

Tables made since issue 13's third round also carry a per-probe tail
(:mod:`fortify.matching.probe_tail`): for galleries up to the size each calibration probe
was compared against, FPIR is the mean over probes of each probe's own chance of any hit,
which does not count a probe that reaches many gallery photos as many false positives.
Beyond that size, and for older tables, the pooled estimate above is used
(:meth:`Calibration.basis`).

Tables made since issue 13's sixth round also carry a normal tail
(:mod:`fortify.matching.normal_tail`): above the score where the table's FMR is 1e-4 the
rate comes from a normal tail fitted on the table's body, not from the few impostor
pairs up there (which, in evaluation data, are mostly one person filed under two
names). Thresholds that land there, for galleries of more than about a hundred templates
at FPIR 0.01, use the pooled estimate with the modelled rate.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from fortify.errors import ConfigError
from fortify.eval.metrics import FmrTable
from fortify.matching.normal_tail import NormalTail
from fortify.matching.probe_tail import ProbeTail

log = logging.getLogger(__name__)

PACKAGED = Path(__file__).resolve().parent.parent / "models" / "calibration"


@dataclass(frozen=True)
class Calibration:
    model_id: str
    table: FmrTable
    source: str
    meta: dict[str, Any]
    tail: ProbeTail | None = None
    normal_tail: NormalTail | None = None

    def basis(self, gallery_size: int) -> str:
        """``per_probe`` where the per-probe tail speaks for this gallery size, else ``pooled``."""
        if self.tail is not None and max(1, gallery_size) <= self.tail.max_size:
            return "per_probe"
        return "pooled"

    def fmr(self, score: float) -> float:
        """A score's estimated false-match rate, never below what the calibration data
        resolve (``1 / (n_impostor + 1)``): only thresholds extrapolate past the data."""
        if self.normal_tail is not None and self._modelled(score):
            return max(float(self.normal_tail.fmr([score])[0]), self.table.floor)
        return float(self.table.estimate_many(np.asarray([score]))[0])

    def _modelled(self, score: float) -> bool:
        return self.normal_tail is not None and score > self.normal_tail.join

    def fpir(self, score: float, gallery_size: int) -> float:
        """Estimated chance that a non-mated search reaches ``score`` in this gallery."""
        n = max(1, gallery_size)
        if self.tail is not None and self.basis(n) == "per_probe" and not self._modelled(score):
            return float(self.tail.fpir_at([score], n)[0])
        f = self.fmr(score)
        return float(-math.expm1(n * math.log1p(-min(f, 1 - 1e-15))))

    def threshold(self, target_fpir: float, gallery_size: int) -> tuple[float, bool]:
        """(threshold, resolution_limited) for a target FPIR at this gallery size.

        ``resolution_limited``: the calibration data cannot resolve the rate this needs
        (the threshold is the normal tail's extrapolation, or, without one, just above the
        highest impostor score seen)."""
        thr, limited, _ = self.decide(target_fpir, gallery_size)
        return thr, limited

    def decide(self, target_fpir: float, gallery_size: int) -> tuple[float, bool, str]:
        """(threshold, resolution_limited, basis): ``basis`` says which estimate set it,
        ``per_probe``, ``pooled`` or ``normal_tail`` (the pooled estimate with the normal
        tail's rate)."""
        n = max(1, gallery_size)
        if self.tail is not None and self.basis(n) == "per_probe":
            t, limited = self.tail.threshold(target_fpir, n)
            if not self._modelled(t):
                return t, limited, "per_probe"
        per_comparison = -math.expm1(math.log1p(-target_fpir) / n)
        if self.normal_tail is not None:
            t = self.normal_tail.score_at(per_comparison)
            if self._modelled(t):
                return t, per_comparison < self.table.floor, "normal_tail"
        scores, fmr = self.table.scores, self.table.fmr
        ok = np.nonzero(fmr <= per_comparison)[0]
        if ok.size == 0:
            # below what the calibration data can resolve: stay above every impostor seen
            return float(scores[-1]) + 0.005, True, "pooled"
        return float(scores[ok[0]]), False, "pooled"

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "source": self.source,
            "table": self.table.to_dict(),
            **({"probe_tail": self.tail.to_dict()} if self.tail is not None else {}),
            **({"normal_tail": self.normal_tail.to_dict()} if self.normal_tail else {}),
            **{"meta": self.meta},
        }


def save_calibration(
    path: Path,
    model_id: str,
    table: FmrTable,
    meta: dict[str, Any],
    tail: ProbeTail | None = None,
    normal_tail: NormalTail | None = None,
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = {"model_id": model_id, "meta": meta, "table": table.to_dict()}
    if tail is not None:
        data["probe_tail"] = tail.to_dict()
    if normal_tail is not None:
        data["normal_tail"] = normal_tail.to_dict()
    path.write_text(json.dumps(data, indent=1))


@cache
def load_calibration(model_id: str, directory: Path | None = None) -> Calibration:
    """The calibration stored with a model (a packaged JSON, or one in ``directory``)."""
    path = (directory or PACKAGED) / f"{model_id}.json"
    try:
        data = json.loads(path.read_text())
        table = FmrTable.from_dict(data["table"])
        tail = ProbeTail.from_dict(data["probe_tail"]) if "probe_tail" in data else None
        nt = NormalTail.from_dict(data["normal_tail"]) if "normal_tail" in data else None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"no usable calibration for model {model_id} at {path}: {exc}") from exc
    if data.get("model_id") != model_id:
        raise ConfigError(f"calibration {path} is for {data.get('model_id')}, not {model_id}")
    return Calibration(model_id, table, str(path), dict(data.get("meta", {})), tail, nt)
