from __future__ import annotations

import random

import cv2
import numpy as np
import pytest

from fortify.errors import BarcodeUnreadable, NotAamva
from fortify.modalities.document.barcode import decode_pdf417
from fortify.modalities.document.engine import DocumentEngine

pdf417gen = pytest.importorskip("pdf417gen")


def _card(payload: bytes, angle: float) -> np.ndarray:
    img = np.asarray(
        pdf417gen.render_image(
            pdf417gen.encode(payload, columns=10, security_level=4), scale=3, padding=30
        ).convert("L")
    )
    big = cv2.copyMakeBorder(img, 150, 150, 150, 150, cv2.BORDER_CONSTANT, value=210)
    m = cv2.getRotationMatrix2D((big.shape[1] / 2, big.shape[0] / 2), angle, 1.0)
    out: np.ndarray = cv2.warpAffine(big, m, big.shape[::-1], borderValue=210)
    return out


def _payload() -> bytes:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[4] / "bench"))
    from bench_aamva import make_payload

    return make_payload(random.Random(7))


def test_rotated_pdf417_is_decoded_exactly() -> None:
    payload = _payload()
    assert decode_pdf417(_card(payload, 17)) == payload


def test_engine_reads_an_aamva_card_and_refuses_others() -> None:
    payload = _payload()
    rgb = cv2.cvtColor(_card(payload, -8), cv2.COLOR_GRAY2RGB)
    out = DocumentEngine().read(rgb)
    assert out["kind"] == "aamva" and out["fields"]["document_number"]
    with pytest.raises(NotAamva):
        DocumentEngine().read(cv2.cvtColor(_card(b"just some text", 0), cv2.COLOR_GRAY2RGB))
    damaged = _card(payload, 0).copy()
    w = damaged.shape[1]
    damaged[:, w // 2 - 60 : w // 2 + 60] = 210
    with pytest.raises(BarcodeUnreadable):
        DocumentEngine().read(cv2.cvtColor(damaged, cv2.COLOR_GRAY2RGB))
