"""SYNTHETIC contactless finger photos rendered from contact prints (no real ones exist here).

Every image made here is synthetic and every figure measured on them says so. A
contact print's ridge pattern (band-passed, ink polarity inverted: a camera sees
ridge crests bright) is wrapped onto a finger-shaped surface: a cylinder of a
random real finger width (17-19 mm) with a rounded tip, the print's columns laid
along the arc (so they compress towards the finger's sides as a photo shows them).
The surface gets a skin colour, Lambert shading from a random light direction, a
weak specular sheen, then sits on a random non-skin background with a random
rotation, a perspective warp, a random camera scale (0.75-1.4 photo px per
500 ppi px), Gaussian blur, sensor noise and JPEG compression.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from fortify.imaging import RGBImage
from fortify.modalities.finger.images import Gray

F32 = npt.NDArray[np.float32]
SYNTHETIC = "SYNTHETIC contactless rendering of a contact print"
BACKGROUNDS = (
    (40, 40, 45),
    (70, 90, 140),
    (60, 110, 70),
    (200, 205, 210),
    (25, 30, 60),
    (120, 120, 125),
)


@dataclass(frozen=True)
class Rendered:
    jpeg: bytes
    rgb: RGBImage
    meta: dict[str, Any]


def _ridges(gray: Gray) -> tuple[F32, F32]:
    """Band-passed, locally normalised ridge signal (ink ridges negative) and its mask."""
    g = gray.astype(np.float32)
    band = cv2.GaussianBlur(g, (0, 0), 0.8) - cv2.GaussianBlur(g, (0, 0), 5.0)
    env = np.sqrt(cv2.GaussianBlur(band * band, (0, 0), 8.0))
    mask = (env > 4.0).astype(np.float32)
    mask = np.asarray(cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((9, 9), np.uint8)), np.float32)
    mask = np.asarray(cv2.GaussianBlur(mask, (0, 0), 4.0), np.float32)
    sig = np.clip(band / np.maximum(env, 1.0), -2.0, 2.0) * mask
    return np.asarray(sig, np.float32), np.asarray(mask, np.float32)


def render(gray: Gray, rng: np.random.Generator, ppi: float = 500.0) -> Rendered:
    """One SYNTHETIC contactless photo (JPEG) of the finger in a contact print."""
    sig, pmask = _ridges(gray)
    if ppi != 500.0:
        f = 500.0 / ppi
        size = (round(gray.shape[1] * f), round(gray.shape[0] * f))
        sig = np.asarray(cv2.resize(sig, size, interpolation=cv2.INTER_AREA), np.float32)
        pmask = np.asarray(cv2.resize(pmask, size, interpolation=cv2.INTER_AREA), np.float32)
    rows = np.nonzero(pmask.max(axis=1) > 0.5)[0]
    cols = np.nonzero(pmask.max(axis=0) > 0.5)[0]
    ya = int(rows[0]) if rows.size else 0
    cxp = float((cols[0] + cols[-1]) / 2) if cols.size else sig.shape[1] / 2
    width_mm = float(rng.uniform(17.0, 19.0))
    rp = width_mm / 2 / 25.4 * 500.0  # finger radius in 500 ppi px
    k = float(rng.uniform(0.75, 1.4))  # photo px per 500 ppi px
    length = sig.shape[0] - ya + 2.2 * rp
    H, W = int(k * (length + 0.5 * rp)), int(k * rp * 4.2)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    ytip = 0.12 * H
    xf, yf = (xx - W / 2) / k, (yy - ytip) / k
    cap = 0.9 * rp
    r = np.where(yf >= cap, rp, rp * np.sqrt(np.clip(1 - ((cap - yf) / cap) ** 2, 0, 1)))
    inside = (np.abs(xf) < r) & (yf >= 0)
    phi = np.arcsin(np.clip(xf / np.maximum(r, 1e-3), -1, 1))
    u = (cxp + r * phi).astype(np.float32)
    v = (ya + yf - 0.3 * rp).astype(np.float32)
    tex = cv2.remap(sig, u, v, cv2.INTER_LINEAR, borderValue=0.0)
    tex = -tex  # ink ridges are dark; a camera sees ridge crests bright
    light = float(rng.uniform(-0.5, 0.5))
    shade = 0.35 + 0.65 * np.clip(np.cos(phi - light), 0, 1)
    spec = 0.12 * np.clip(np.cos(phi - light), 0, 1) ** 20
    skin = np.array([rng.uniform(175, 225), rng.uniform(120, 160), rng.uniform(95, 135)])
    amp = np.array([0.05, 0.12, 0.13]) * rng.uniform(0.8, 1.3)
    fg = skin[None, None, :] * shade[..., None] * (1 + amp[None, None, :] * tex[..., None])
    fg += 255 * spec[..., None]
    # background: a non-skin base colour, low-frequency blotches, a few edges
    base = np.array(BACKGROUNDS[int(rng.integers(len(BACKGROUNDS)))], np.float32)
    low = cv2.resize(rng.normal(0, 18, (6, 6, 3)).astype(np.float32), (W, H))
    bg = np.clip(base[None, None, :] + low, 0, 255)
    for _ in range(int(rng.integers(0, 4))):
        p1 = (int(rng.integers(W)), int(rng.integers(H)))
        p2 = (int(rng.integers(W)), int(rng.integers(H)))
        col = tuple(float(c) for c in np.clip(base + rng.normal(0, 40, 3), 0, 255))
        cv2.line(bg, p1, p2, col, int(rng.integers(2, 12)))
    alpha = cv2.GaussianBlur(inside.astype(np.float32), (0, 0), 1.2)[..., None]
    img = fg * alpha + bg * (1 - alpha)
    # camera: rotation + perspective, blur, noise, JPEG
    rot = float(rng.uniform(-20, 20))
    src = np.array([[0, 0], [W, 0], [W, H], [0, H]], np.float32)
    jit = rng.uniform(-0.04, 0.04, (4, 2)) * np.array([W, H])
    dst = (src + jit).astype(np.float32)
    hom = cv2.getPerspectiveTransform(src, dst)
    rmat = np.vstack([cv2.getRotationMatrix2D((W / 2, H / 2), rot, 1.0), [0, 0, 1]])
    img = cv2.warpPerspective(
        img.astype(np.float32), rmat @ hom, (W, H), borderMode=cv2.BORDER_REPLICATE
    )
    blur = float(rng.uniform(0.5, 1.1))
    img = cv2.GaussianBlur(img, (0, 0), blur)
    noise = float(rng.uniform(2.0, 5.0))
    img = img + rng.normal(0, noise, img.shape)
    rgb = np.clip(img, 0, 255).astype(np.uint8)
    quality = int(rng.integers(75, 93))
    ok, buf = cv2.imencode(
        ".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality]
    )
    assert ok
    meta = {
        "synthetic": True,
        "label": SYNTHETIC,
        "finger_width_mm": round(width_mm, 2),
        "photo_px_per_500ppi_px": round(k, 3),
        "rotation_deg": round(rot, 1),
        "blur_sigma": round(blur, 2),
        "noise_sigma": round(noise, 2),
        "jpeg_quality": quality,
    }
    return Rendered(bytes(buf), rgb, meta)
