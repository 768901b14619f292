"""The fused ranking of an encounter with captures of several modalities."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from fortify.gallery.ranking import calibration
from fortify.matching.fusion import ModalityScores, fuse

if TYPE_CHECKING:
    from fortify.gallery.core import Gallery

log = logging.getLogger(__name__)


def fused_ranking(self: Gallery, results: dict[str, dict[str, Any]], k: int) -> dict[str, Any]:
    """Fuse each modality's ranked result (``modality -> _result``) by its calibration.

    A modality whose model has no calibration cannot be read as a probability:
    the fused ranking is then withheld (``decision`` ``"not_calibrated"``), not guessed.
    """
    scores: dict[str, ModalityScores] = {}
    missing: list[str] = []
    for name, r in results.items():
        cal = calibration(self, name)
        if cal is None:
            missing.append(name)
            continue
        scores[name] = ModalityScores(cal, r["candidates"], int(r["gallery_size"]))
    if missing:
        log.warning("no fused ranking: no calibration for %s", ", ".join(missing))
        return {
            "decision": "not_calibrated",
            "modalities": sorted(results),
            "not_calibrated": sorted(missing),
            "candidates": [],
        }
    return fuse(scores, k, self.settings.target_fpir)


def fused_audit(result: dict[str, Any]) -> dict[str, Any]:
    """The fused ranking the operator sees, in the audit entry (several modalities only)."""
    fused = result.get("fused")
    if not fused:
        return {}
    return {"fused": [[c["reference"], c["estimated_fpir"]] for c in fused["candidates"]]}
