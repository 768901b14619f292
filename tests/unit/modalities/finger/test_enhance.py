"""Gabor enhancement: a synthetic ridge pattern comes back cleaner; a real print stays a print."""

from __future__ import annotations

import cv2
import numpy as np

from fortify.modalities.finger import enhance
from fortify.modalities.finger.images import ridge_check
from fortify.modalities.finger.minutiae import Minutiae
from tests.unit.modalities.finger.conftest import fvc


def _ridges(period: float, angle: float, size: int = 256) -> np.ndarray:
    """Dark sinusoidal ridges (direction across them: ``angle``) on a white border."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    wave = np.cos(2 * np.pi * (x * np.cos(angle) + y * np.sin(angle)) / period)
    img = np.full((size, size), 255.0, np.float32)
    inner = slice(48, size - 48)
    img[inner, inner] = 128 + 80 * wave[inner, inner]
    return img


def test_orientation_and_period_of_synthetic_ridges() -> None:
    img = _ridges(9.0, np.pi / 3).astype(np.uint8)
    g = enhance.normalise(img, 15)
    theta = enhance.orientation(g, 12.0)[100:156, 100:156]
    err = np.angle(np.exp(2j * (theta - np.pi / 3))) / 2
    assert np.abs(err).max() < np.radians(6)
    fg = enhance.foreground(img)
    assert fg[128, 128] and not fg[5, 5]
    assert abs(enhance.ridge_period(g, fg, (5.0, 13.0)) - 9.0) < 0.6


def test_gabor_removes_noise_and_keeps_polarity() -> None:
    clean = _ridges(8.0, 0.4)
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 40, clean.shape) * (clean < 255)  # noisy ridges, clean background
    noisy = np.clip(clean + noise, 0, 255).astype(np.uint8)
    out = enhance.gabor(noisy)
    assert out.shape == noisy.shape and out.dtype == np.uint8
    inner = (slice(70, 186), slice(70, 186))
    corr_in = np.corrcoef(noisy[inner].ravel(), clean[inner].ravel())[0, 1]
    corr_out = np.corrcoef(out[inner].ravel(), clean[inner].ravel())[0, 1]
    assert corr_out > 0.9 > corr_in  # cleaner, and dark ridges stay dark
    assert (out[:20, :20] == 255).all()  # background is white


def test_real_print_and_clahe() -> None:
    gray = cv2.imread(str(fvc("101_1.png")), cv2.IMREAD_GRAYSCALE)
    out = enhance.gabor(gray)
    check = ridge_check(out)
    assert check.coherence > ridge_check(gray).coherence
    assert 5.0 <= check.period <= 13.0
    eq = enhance.clahe(gray)
    assert eq.shape == gray.shape and eq.dtype == np.uint8


def test_blank_image_is_returned_unchanged() -> None:
    blank = np.full((64, 64), 255, np.uint8)
    assert enhance.gabor(blank) is blank


def test_minutiae_near_the_mask_edge_are_dropped() -> None:
    fg = np.zeros((100, 100), bool)
    fg[20:80, 20:80] = True
    m = Minutiae.of([50, 22, 78, 50], [50, 50, 50, 5], [0, 0, 0, 0], [1, 2, 1, 1], [90] * 4)
    kept = enhance.inside(m, fg, 12.0)
    assert kept.x.tolist() == [50.0] and kept.quality.tolist() == [90]
    assert len(enhance.inside(m, fg, 0.0)) == 4
