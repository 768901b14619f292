from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from fortify.errors import NoDocumentFound
from fortify.modalities.document.reader import read_mrz

ROOT = Path(__file__).resolve().parents[4]
DOCS = (ROOT / ".." / "shared" / "data" / "documents").resolve()
FONT = Path("/usr/share/fonts/opentype/ocr-b/OCRB.otf")
LINES = [
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
]


def synthetic_page(angle: float) -> np.ndarray:
    """A synthetic passport page: grey card, some text, the MRZ in OCR-B, rotated."""
    img = Image.new("L", (1100, 700), 225)
    d = ImageDraw.Draw(img)
    font = ImageFont.truetype(str(FONT), 30)
    d.text((80, 80), "SYNTHETIC SPECIMEN", font=font, fill=60)
    for i, line in enumerate(LINES):
        d.text((60, 560 + 50 * i), line, font=font, fill=20)
    arr = np.asarray(img)
    big = cv2.copyMakeBorder(arr, 300, 300, 300, 300, cv2.BORDER_CONSTANT, value=150)
    m = cv2.getRotationMatrix2D((big.shape[1] / 2, big.shape[0] / 2), angle, 1.0)
    out: np.ndarray = cv2.warpAffine(big, m, big.shape[::-1], borderValue=150)
    return out


@pytest.mark.skipif(not FONT.exists(), reason="fonts-ocr-b not installed")
@pytest.mark.parametrize("angle", [0, 180, 33])
def test_reads_a_synthetic_page_at_any_rotation(angle: float) -> None:
    r = read_mrz(synthetic_page(angle))
    assert r.valid and r.format == "TD3"
    assert r.lines == LINES


def test_no_document_in_a_plain_image() -> None:
    gray = np.tile(np.linspace(0, 255, 400, dtype=np.uint8), (300, 1))
    with pytest.raises(NoDocumentFound):
        read_mrz(gray)


def test_specimen_td1() -> None:
    path = DOCS / "specimens-fastmrz" / "td1.jpg"
    if not path.exists():
        pytest.skip(f"evaluation data not found at {DOCS}")
    r = read_mrz(cv2.imread(str(path), cv2.IMREAD_GRAYSCALE))
    assert r.valid and r.format == "TD1" and r.fields["document_number"] == "D23145890"


@pytest.mark.skipif(not FONT.exists(), reason="fonts-ocr-b not installed")
def test_half_visible_mrz_is_unreadable() -> None:
    from fortify.errors import MrzUnreadable

    page = synthetic_page(0)
    cut = page[: 300 + 560 + 45]  # the second MRZ line is out of the picture
    with pytest.raises(MrzUnreadable):
        read_mrz(cut)
