"""Minutiae extraction: NIST's mindtct (through ``nbis-py``) and NFIQ 2.

mindtct segments the print, computes the orientation and ridge-flow maps,
binarises (enhancement along the ridge flow) and traces ridge endings and
bifurcations with a reliability per minutia. We convert its angle convention
(degrees, y axis up) to ours (radians, counter-clockwise in image axes).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from fortify.errors import ModelUnavailable, QualityTooLow
from fortify.modalities.finger.images import Gray, encode_png
from fortify.modalities.finger.minutiae import BIFURCATION, ENDING, Minutiae

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Extraction:
    minutiae: Minutiae
    nfiq2: int | None
    """NFIQ 2 score 0-100 (None when not computed)."""


class MindtctExtractor:
    """mindtct minutiae + NFIQ 2; thread-safe (calls are serialised)."""

    version = "nbis-py-0.1.3-mindtct"

    def __init__(self, compute_nfiq2: bool = True) -> None:
        self.compute_nfiq2 = compute_nfiq2
        self._ex: Any = None
        self._plain: Any = None  # without NFIQ 2, for images NFIQ 2 cannot score
        self._lock = threading.Lock()

    def prepare(self) -> MindtctExtractor:
        with self._lock:
            if self._ex is None:
                try:
                    import nbis
                except ImportError as exc:  # pragma: no cover - a declared dependency
                    raise ModelUnavailable(f"nbis-py is not installed: {exc}") from exc
                self._ex, self._plain = (
                    nbis.new_nbis_extractor(
                        nbis.NbisExtractorSettings(
                            min_quality=0.0,
                            get_center=False,
                            check_fingerprint=False,
                            compute_nfiq2=nfiq,
                            ppi=500.0,
                        )
                    )
                    for nfiq in (self.compute_nfiq2, False)
                )
        return self

    def extract(
        self, gray: Gray, enhanced: Gray | None = None, *, nfiq2: bool = True
    ) -> Extraction:
        """Minutiae of ``enhanced`` (when given, else of ``gray``); NFIQ 2 always of ``gray``.

        NFIQ 2 scores the capture as it came: an enhanced image would flatter it. It is
        computed when the extractor is built for it and ``nfiq2`` asks for it.
        """
        self.prepare()
        import nbis

        png = encode_png(gray)
        with self._lock:
            nfiq: int | None = None
            result = None
            if self.compute_nfiq2 and nfiq2:
                try:
                    raw = self._ex.extract_minutiae(png)
                    nfiq = int(raw.quality().score)
                    result = raw if enhanced is None else None
                except nbis.NbisError as exc:  # NFIQ 2 fails on some images: minutiae only
                    log.info("NFIQ 2 failed (%s): minutiae without it", exc)
            if result is None:
                try:
                    result = self._plain.extract_minutiae(
                        png if enhanced is None else encode_png(enhanced)
                    )
                except nbis.NbisError as exc2:
                    raise QualityTooLow(
                        f"minutiae extraction failed: {exc2}", warnings=["extraction_failed"]
                    ) from exc2
            ms = result.get()
        ending = nbis.MinutiaKind.RIDGE_ENDING
        rows = [
            (
                float(m.x()),
                float(m.y()),
                float(m.angle()),
                ENDING if m.kind() == ending else BIFURCATION,
                round(100 * float(m.reliability())),
            )
            for m in ms
        ]
        a = np.asarray(rows, np.float32).reshape(-1, 5)
        h, w = gray.shape
        minutiae = Minutiae.of(
            a[:, 0], a[:, 1], -np.radians(a[:, 2]), a[:, 3], a[:, 4], width=w, height=h
        )
        return Extraction(minutiae, nfiq)
