"""Finger inputs: an image (PNG, JPEG, BMP...), a WSQ file or an ISO/IEC 19794-2 record.

Also the first look at an image: is there a finger at all? A block-wise
segmentation (grey-level spread) finds the foreground; the orientation field
there (gradient structure tensor) must be coherent, as ridges are, and the ridge
period must be that of a 500 ppi print. A face photo or a blank page is not.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from fortify.errors import InvalidImage
from fortify.imaging import decode_image

log = logging.getLogger(__name__)

Gray = npt.NDArray[np.uint8]
WSQ_MAGIC = b"\xff\xa0"
BLOCK = 16


def is_wsq(data: bytes) -> bool:
    return data[:2] == WSQ_MAGIC


def decode_wsq(data: bytes) -> Gray:
    """A WSQ (FBI wavelet scalar quantisation) image as 8-bit grey."""
    try:
        import wsq  # noqa: F401  (registers the WSQ format with Pillow)
        from PIL import Image

        with Image.open(io.BytesIO(data)) as im:
            im.load()
            return np.asarray(im.convert("L"), dtype=np.uint8)
    except Exception as exc:  # the decoder raises many kinds on corrupt data
        raise InvalidImage("corrupt or unreadable WSQ image", reason=str(exc)[:200]) from exc


def decode_finger_image(data: bytes, max_pixels: int) -> Gray:
    """Any supported finger image format -> 8-bit grey (WSQ or what Pillow reads)."""
    if is_wsq(data):
        g = decode_wsq(data)
        if g.size > max_pixels:
            raise InvalidImage("WSQ image has too many pixels")
        return g
    rgb = decode_image(data, max_pixels)
    return np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), dtype=np.uint8)


def encode_png(gray: Gray) -> bytes:
    ok, buf = cv2.imencode(".png", gray)
    if not ok:  # pragma: no cover - OpenCV encodes any 8-bit array
        raise InvalidImage("could not encode the finger image")
    return bytes(buf)


@dataclass(frozen=True)
class RidgeCheck:
    """What the segmentation and orientation field say about an image."""

    foreground: float
    """Share of blocks with ridge-like contrast."""
    coherence: float
    """Mean orientation coherence over the foreground (1 = parallel ridges)."""
    period: float
    """Median ridge period in pixels over the foreground (0 if not found)."""
    box: list[int]
    """Bounding box of the foreground [x, y, w, h]."""

    def to_dict(self) -> dict[str, float | list[int]]:
        return {
            "foreground": round(self.foreground, 3),
            "coherence": round(self.coherence, 3),
            "ridge_period_px": round(self.period, 1),
            "box": self.box,
        }


def ridge_check(gray: Gray) -> RidgeCheck:
    """Segmentation, orientation coherence and ridge period of a grey image."""
    g = gray.astype(np.float32)
    h, w = g.shape
    bh, bw = h // BLOCK, w // BLOCK
    if bh < 2 or bw < 2:
        return RidgeCheck(0.0, 0.0, 0.0, [0, 0, 0, 0])
    g = g[: bh * BLOCK, : bw * BLOCK]
    blocks = g.reshape(bh, BLOCK, bw, BLOCK)
    std = blocks.std(axis=(1, 3))
    fg = std > max(8.0, 0.25 * float(np.percentile(std, 95)))
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)

    def bsum(a: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        # orientation over 3x3 blocks for a steadier estimate
        s = a.reshape(bh, BLOCK, bw, BLOCK).sum(axis=(1, 3))
        return np.asarray(cv2.blur(s, (3, 3)), np.float32)

    gxx, gyy, gxy = bsum(gx * gx), bsum(gy * gy), bsum(gx * gy)
    coh = np.sqrt((gxx - gyy) ** 2 + 4 * gxy**2) / np.maximum(gxx + gyy, 1e-6)
    if not fg.any():
        return RidgeCheck(0.0, 0.0, 0.0, [0, 0, 0, 0])
    ys, xs = np.nonzero(fg)
    box = [
        int(xs.min() * BLOCK),
        int(ys.min() * BLOCK),
        int((xs.max() - xs.min() + 1) * BLOCK),
        int((ys.max() - ys.min() + 1) * BLOCK),
    ]
    theta = 0.5 * np.arctan2(2 * gxy, gxx - gyy)  # gradient direction per block
    # the period of the more coherent half of (up to 64) foreground blocks: blotchy
    # background and smudges give slow waves, not the ridge spacing
    sample = list(zip(ys, xs, strict=True))[:: max(1, len(ys) // 64)]
    est = [(_period(g, int(by), int(bx), float(theta[by, bx])), coh[by, bx]) for by, bx in sample]
    est = [(p, c) for p, c in est if p > 0]
    cut = float(np.median([c for _, c in est])) if est else 0.0
    found = [p for p, c in est if c >= cut]
    return RidgeCheck(
        float(fg.mean()),
        float(coh[fg].mean()),
        float(np.median(found)) if found else 0.0,
        box,
    )


def _period(g: npt.NDArray[np.float32], by: int, bx: int, theta: float) -> float:
    """Ridge period in a 32 px window: the grey-level profile across the ridges.

    The profile is detrended (a linear fit removed) and its spectrum zero-padded to
    256 bins, so the peak between 3 and 24 px is not limited to 32 / k.
    """
    cy, cx = by * BLOCK + BLOCK // 2, bx * BLOCK + BLOCK // 2
    t = np.arange(-16, 16, dtype=np.float32)
    off = np.arange(-4, 5, dtype=np.float32)
    dx, dy = np.cos(theta), np.sin(theta)  # across the ridges
    px = cx + t[None, :] * dx - off[:, None] * dy
    py = cy + t[None, :] * dy + off[:, None] * dx
    h, w = g.shape
    if px.min() < 0 or py.min() < 0 or px.max() >= w - 1 or py.max() >= h - 1:
        return 0.0
    prof = g[py.round().astype(int), px.round().astype(int)].mean(axis=0)
    prof = prof - np.polyval(np.polyfit(t, prof, 1), t)
    spec = np.abs(np.fft.rfft(prof * np.hanning(prof.size), _PAD))
    k = int(np.argmax(spec[_BAND])) + _BAND.start
    return float(_PAD / k)


_PAD = 256
_BAND = slice(int(np.ceil(_PAD / 24.0)), int(_PAD / 3.0) + 1)
"""Spectrum bins of periods from 24 down to 3 px."""
