from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from fortify.errors import ImageTooLarge, InvalidImage, PayloadTooLarge
from fortify.imaging import decode_image, load_image, read_bytes


def _png(w: int, h: int, mode: str = "RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, (w, h)).save(buf, format="PNG")
    return buf.getvalue()


def test_decodes_png_to_rgb() -> None:
    arr = decode_image(_png(40, 30, "L"))
    assert arr.shape == (30, 40, 3) and arr.dtype == np.uint8


def test_non_image_rejected() -> None:
    with pytest.raises(InvalidImage):
        decode_image(b"this is not an image at all" * 10)


def test_truncated_jpeg_rejected() -> None:
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 200, 3), np.uint8)).save(
        buf, format="JPEG"
    )
    with pytest.raises(InvalidImage, match="corrupt or truncated"):
        decode_image(buf.getvalue()[: len(buf.getvalue()) // 2])


def test_decompression_bomb_rejected_before_decoding() -> None:
    data = _png(8000, 6000, "1")  # 48 Mpx, a few KB on disk
    assert len(data) < 200_000
    with pytest.raises(ImageTooLarge) as e:
        decode_image(data, max_pixels=40_000_000)
    assert e.value.code == "image_too_large"


def test_oversized_bytes_rejected(tmp_path) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "big.jpg"
    p.write_bytes(b"\xff" * 2048)
    with pytest.raises(PayloadTooLarge):
        read_bytes(p, max_bytes=1024)
    with pytest.raises(PayloadTooLarge):
        read_bytes(b"\x00" * 2048, max_bytes=1024)


def test_empty_and_missing(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidImage):
        read_bytes(b"")
    with pytest.raises(InvalidImage, match="no such file"):
        load_image(tmp_path / "nope.jpg")


def test_unsupported_format_rejected() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (40, 40)).save(buf, format="GIF")
    with pytest.raises(InvalidImage, match="unsupported image format"):
        decode_image(buf.getvalue())


def test_exif_orientation_applied() -> None:
    img = Image.new("RGB", (60, 20))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW on display
    buf = io.BytesIO()
    img.save(buf, format="JPEG", exif=exif)
    assert decode_image(buf.getvalue()).shape[:2] == (60, 20)
