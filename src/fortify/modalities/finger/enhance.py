"""Contextual enhancement of a contact print before minutiae extraction.

Oriented Gabor filtering (Hong, Wan & Jain 1998), vectorised per orientation bin:

1. local normalisation: the grey level minus its local mean, divided by the
   local standard deviation (so faint and dark areas get the same contrast);
2. a pixel-wise orientation field from the gradient structure tensor, smoothed
   as a doubled-angle vector field, quantised into ``bins`` directions;
3. one ridge period per print: the peak of the foreground's radial spectrum
   (:func:`ridge_period`), unless the caller passes one;
4. one whole-image ``cv2.filter2D`` per orientation bin with an even Gabor kernel
   tuned to that direction and period; each pixel takes the response of its bin;
5. the background (blocks without ridge contrast, after closing) becomes white.

The result is an 8-bit image with dark ridges on white, as mindtct expects. The
filter carries ridges up to the mask's edge, where mindtct then finds false ridge
endings: :func:`inside` drops the minutiae near that edge. :func:`clahe` is the
cheap alternative (contrast-limited histogram equalisation), measured and not used.
Figures: ``bench/bench_finger_enhance.py`` and ``docs/finger/README.md``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from fortify.modalities.finger.images import BLOCK, Gray
from fortify.modalities.finger.minutiae import Minutiae

log = logging.getLogger(__name__)

F32 = npt.NDArray[np.float32]


@dataclass(frozen=True)
class GaborParams:
    """Filter bank settings; ``sigma`` and ``sigma_along`` are in ridge periods."""

    bins: int = 16
    """Orientation bins over 180 degrees."""
    sigma: float = 0.5
    """Gaussian envelope across the ridges, in ridge periods."""
    sigma_along: float = 0.5
    """Gaussian envelope along the ridges, in ridge periods."""
    orient_sigma: float = 12.0
    """Smoothing of the orientation field (pixels)."""
    norm_size: int = 15
    """Window of the local mean / standard deviation normalisation (pixels)."""
    period_range: tuple[float, float] = (5.0, 13.0)
    """The measured period is clipped to this range (500 ppi prints)."""
    blend: float = 1.0
    """Share of the filtered image in the output (the rest: the normalised print)."""


def normalise(gray: Gray, size: int) -> F32:
    """Zero local mean, unit local standard deviation (box windows of ``size`` px)."""
    g = gray.astype(np.float32)
    mean = cv2.blur(g, (size, size))
    d = g - mean
    var = cv2.blur(d * d, (size, size))
    return np.asarray(d / np.sqrt(var + 25.0), np.float32)


def orientation(g: F32, sigma: float) -> F32:
    """Per-pixel direction across the ridges (radians in [0, pi), image axes, y down).

    The structure tensor is averaged over 4x4 cells and smoothed at that scale
    (``sigma`` in full-resolution pixels), then brought back to full size as
    doubled-angle vectors, so the field stays continuous and cheap to compute.
    """
    h, w = g.shape
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)
    size = (max(1, w // 4), max(1, h // 4))
    small = [
        cv2.resize(a, size, interpolation=cv2.INTER_AREA) for a in (gx * gx - gy * gy, 2 * gx * gy)
    ]
    c, s = (cv2.GaussianBlur(a, (0, 0), sigma / 4) for a in small)
    c, s = (cv2.resize(a, (w, h), interpolation=cv2.INTER_LINEAR) for a in (c, s))
    theta = 0.5 * np.arctan2(s, c)
    return np.asarray(np.mod(theta, np.pi), np.float32)


def foreground(gray: Gray) -> npt.NDArray[np.bool_]:
    """Pixel mask of the print: blocks with ridge contrast, closed and slightly eroded."""
    h, w = gray.shape
    bh, bw = max(1, h // BLOCK), max(1, w // BLOCK)
    g = gray[: bh * BLOCK, : bw * BLOCK].astype(np.float32)
    std = g.reshape(bh, BLOCK, bw, BLOCK).std(axis=(1, 3))
    fg = (std > max(8.0, 0.25 * float(np.percentile(std, 95)))).astype(np.uint8)
    k = np.ones((3, 3), np.uint8)
    fg = cv2.morphologyEx(fg, cv2.MORPH_CLOSE, k)
    fg = cv2.morphologyEx(fg, cv2.MORPH_OPEN, k)
    full = cv2.resize(fg, (bw * BLOCK, bh * BLOCK), interpolation=cv2.INTER_NEAREST)
    out = np.zeros((h, w), np.uint8)
    out[: bh * BLOCK, : bw * BLOCK] = full
    return out.astype(bool)


def ridge_period(g: F32, fg: npt.NDArray[np.bool_], period_range: tuple[float, float]) -> float:
    """Dominant ridge period (pixels) of the foreground: the peak of the radial spectrum."""
    h, w = g.shape
    win = np.where(fg, g, 0).astype(np.float32)
    win *= np.outer(np.hanning(h), np.hanning(w)).astype(np.float32)
    power = np.abs(np.fft.rfft2(win)) ** 2
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    radius = np.sqrt(fx * fx + fy * fy)
    lo, hi = 1.0 / period_range[1], 1.0 / period_range[0]
    edges = np.linspace(lo, hi, 33)
    hist, _ = np.histogram(radius, edges, weights=power)
    i = int(np.argmax(hist))
    if 0 < i < len(hist) - 1:  # parabolic refinement of the peak
        a, b, c = hist[i - 1], hist[i], hist[i + 1]
        den = a - 2 * b + c
        shift = 0.5 * (a - c) / den if den else 0.0
    else:
        shift = 0.0
    step = edges[1] - edges[0]
    return float(1.0 / (lo + (i + 0.5 + shift) * step))


def gabor_bank(period: float, p: GaborParams) -> list[F32]:
    """Even Gabor kernels, one per orientation bin, zero mean (no DC response)."""
    sx, sy = p.sigma * period, p.sigma_along * period
    half = int(np.ceil(3 * max(sx, sy)))
    bank = []
    for i in range(p.bins):
        theta = np.pi * i / p.bins
        k = cv2.getGaborKernel(
            (2 * half + 1, 2 * half + 1), sx, theta, period, sy / sx, 0.0, cv2.CV_32F
        )
        k = k - k.mean()
        bank.append(np.asarray(k / np.abs(k).sum(), np.float32))
    return bank


def gabor(
    gray: Gray,
    period: float | None = None,
    params: GaborParams | None = None,
    fg: npt.NDArray[np.bool_] | None = None,
) -> Gray:
    """The Gabor-enhanced print (dark ridges, white background), same size as ``gray``.

    ``fg`` is the :func:`foreground` mask when the caller has it already.
    """
    p = params or GaborParams()
    if fg is None:
        fg = foreground(gray)
    if not fg.any():
        return gray
    g = normalise(gray, p.norm_size)
    if period is None or period <= 0:  # measured here when not given
        period = ridge_period(g, fg, p.period_range)
    period = float(np.clip(period, *p.period_range))
    theta = orientation(g, p.orient_sigma)
    idx = np.round(theta / (np.pi / p.bins)).astype(np.int32) % p.bins
    resp = np.zeros_like(g)
    for i, k in enumerate(gabor_bank(period, p)):
        sel = idx == i
        if sel.any():
            resp[sel] = cv2.filter2D(g, cv2.CV_32F, k, borderType=cv2.BORDER_REFLECT)[sel]
    scale = float(np.percentile(np.abs(resp[fg]), 95)) or 1.0
    mix = p.blend * resp / scale
    if p.blend < 1.0:
        mix += (1.0 - p.blend) * np.clip(g / 2.0, -1.0, 1.0)
    out = np.clip(128.0 + 127.0 * mix, 0, 255)
    out[~fg] = 255
    return np.asarray(out, np.uint8)


def inside(m: Minutiae, fg: npt.NDArray[np.bool_], margin: float) -> Minutiae:
    """The minutiae at least ``margin`` px inside the foreground (and the image edge).

    Ridges that the mask or the image edge cut off end there: those endings are
    not minutiae of the finger.
    """
    if not len(m) or margin <= 0:
        return m
    padded = np.pad(fg.astype(np.uint8), 1)
    dist = cv2.distanceTransform(padded, cv2.DIST_L2, 3)[1:-1, 1:-1]
    h, w = fg.shape
    xi = np.clip(np.round(m.x).astype(np.int32), 0, w - 1)
    yi = np.clip(np.round(m.y).astype(np.int32), 0, h - 1)
    keep = dist[yi, xi] >= margin
    return Minutiae(
        m.x[keep], m.y[keep], m.angle[keep], m.kind[keep], m.quality[keep], m.width, m.height, m.ppi
    )


def clahe(gray: Gray, clip: float = 2.0, tiles: int = 8) -> Gray:
    """Contrast-limited adaptive histogram equalisation."""
    eq = cv2.createCLAHE(clipLimit=clip, tileGridSize=(tiles, tiles)).apply(gray)
    return np.asarray(eq, np.uint8)
