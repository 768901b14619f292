"""Find and decode a PDF417 barcode (zxing-cpp) robustly: deskew, rectify, several binarisations.

zxing-cpp reads PDF417 only when the rows are close to horizontal (it fails from a few degrees
of rotation), so the barcode region is found first (strong, oriented gradients closed into a
blob), rotated to horizontal by the blob's minimum-area rectangle, and decoded with a few
binarisers and sharpenings until one gives a payload.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)
U8 = npt.NDArray[Any]  # grey uint8 image (OpenCV stubs type results loosely)


def _zx(img: U8, formats: Any) -> bytes | None:
    import zxingcpp

    for binarizer in (zxingcpp.Binarizer.LocalAverage, zxingcpp.Binarizer.GlobalHistogram):
        res = zxingcpp.read_barcodes(img, formats=formats, binarizer=binarizer)
        for r in res:
            if r.valid and r.bytes:
                return bytes(r.bytes)
    return None


def _regions(gray: U8) -> Iterator[tuple[float, tuple[float, float], tuple[float, float]]]:
    """Candidate barcode rectangles (angle, centre, size) in ``gray``, largest first."""
    gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3)
    mag = cv2.magnitude(gx, gy)
    mag = cv2.GaussianBlur(mag, (0, 0), 2.0)
    th: U8 = (mag > max(float(np.percentile(mag, 80)), 30.0)).astype(np.uint8) * 255
    k = max(3, round(max(gray.shape) / 100))
    th = cv2.morphologyEx(th, cv2.MORPH_CLOSE, np.ones((k, k), np.uint8), iterations=2)
    th = cv2.morphologyEx(th, cv2.MORPH_OPEN, np.ones((k, k), np.uint8))
    cnts, _ = cv2.findContours(th, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    area = gray.shape[0] * gray.shape[1]
    rects: list[tuple[float, float, tuple[float, float], tuple[float, float]]] = []
    for cnt in cnts:
        (cx, cy), (w, h), ang = cv2.minAreaRect(cnt)
        fill = cv2.contourArea(cnt) / max(w * h, 1)
        if w * h > 0.01 * area and fill > 0.6:
            rects.append((w * h, ang, (cx, cy), (w, h)))
    for _, ang, centre, size in sorted(rects, key=lambda r: -r[0])[:3]:
        yield ang, centre, size


def _variants(img: U8) -> Iterator[U8]:
    yield img
    blur = cv2.GaussianBlur(img, (0, 0), 1.5)
    yield cv2.addWeighted(img, 2.0, blur, -1.0, 0)  # unsharp
    yield cv2.threshold(img, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)[1]
    up = cv2.resize(img, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    soft = cv2.GaussianBlur(up, (0, 0), 3.0)
    sharp = cv2.addWeighted(up, 2.5, soft, -1.5, 0)  # blurred prints: deconvolve roughly
    yield sharp
    yield cv2.threshold(sharp, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)[1]
    block = max(15, (min(img.shape) // 8) | 1)
    yield cv2.adaptiveThreshold(
        img, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY, block, 5
    )


def decode_pdf417(gray: U8, micro: bool = True) -> bytes | None:
    """The payload of the first PDF417 (or MicroPDF417) found, or None."""
    import zxingcpp

    formats: Any = (
        [zxingcpp.BarcodeFormat.PDF417, zxingcpp.BarcodeFormat.MicroPDF417]
        if micro
        else zxingcpp.BarcodeFormat.PDF417
    )
    scale = 1600 / max(gray.shape)
    if scale < 1:
        gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    found = _zx(gray, formats)
    if found is not None:
        return found
    for ang, (cx, cy), (w, h) in _regions(gray):
        for extra in (0.0, 90.0):
            m = cv2.getRotationMatrix2D((cx, cy), ang + extra, 1.0)
            side = int(max(w, h) * 1.3) + 20
            m[0, 2] += side / 2 - cx
            m[1, 2] += side / 2 - cy
            crop = cv2.warpAffine(
                gray, m, (side, side), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
            )
            for v in _variants(crop):
                found = _zx(v, formats)
                if found is not None:
                    return found
    return None


def pdf417_present(gray: U8) -> bool:
    """Whether zxing sees a PDF417 symbol it cannot decode (a damaged barcode)."""
    import zxingcpp

    scale = 1600 / max(gray.shape)
    if scale < 1:
        gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    fmt: Any = zxingcpp.BarcodeFormat.PDF417
    res = zxingcpp.read_barcodes(gray, formats=fmt, return_errors=True)
    return any(not r.valid for r in res)
