"""Read an identity document from a photo: MRZ first, then a PDF417 (AAMVA) barcode.

Returns a plain dict (kind, format, fields, checks, corrections, flags) that the gallery stores
in the encounter and the API returns. Raises ``no_document``, ``mrz_unreadable``,
``barcode_unreadable`` or ``not_aamva`` for bad input.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from fortify.errors import BarcodeUnreadable, MrzUnreadable, NoDocumentFound
from fortify.modalities.document.aamva import parse_aamva
from fortify.modalities.document.barcode import decode_pdf417, pdf417_present
from fortify.modalities.document.ocr import CharClassifier, default_classifier
from fortify.modalities.document.reader import read_mrz

log = logging.getLogger(__name__)
U8 = npt.NDArray[Any]  # grey uint8 image (OpenCV stubs type results loosely)


class DocumentEngine:
    """Stateless apart from the OCR model; safe to share between threads."""

    def __init__(self, classifier: CharClassifier | None = None) -> None:
        self._clf = classifier

    @property
    def model_id(self) -> str:
        clf = self._clf or default_classifier()
        return f"mrz-ocrb-{clf.digest}"

    def read(self, rgb: npt.NDArray[np.uint8]) -> dict[str, Any]:
        t = time.perf_counter()
        gray: U8 = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        try:
            mrz = read_mrz(gray, self._clf or default_classifier())
            out: dict[str, Any] = {"kind": "mrz", **mrz.to_dict()}
            out["checks"] = {c["name"]: c for c in out["checks"]}
        except (NoDocumentFound, MrzUnreadable) as mrz_error:
            payload = decode_pdf417(gray)
            if payload is None:
                if isinstance(mrz_error, MrzUnreadable):
                    raise
                if pdf417_present(gray):
                    raise BarcodeUnreadable(
                        "found a PDF417 barcode but could not decode it"
                    ) from None
                raise NoDocumentFound(
                    "no machine-readable zone and no PDF417 barcode found in the image"
                ) from None
            aamva = parse_aamva(payload)
            out = {"kind": "aamva", **aamva.to_dict(), "checks": {}, "corrections": []}
        out["seconds"] = round(time.perf_counter() - t, 3)
        return out
