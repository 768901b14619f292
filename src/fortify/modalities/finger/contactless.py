"""Contactless finger photos (a phone camera) turned into contact-like 500 ppi prints.

A colour photo of a finger is not a contact print: the finger is a curved, shaded
surface in front of some background, at an unknown scale, and its ridges show as
bright crests with dark furrows (ink shows ridges dark). The steps:

1. Segmentation: Otsu on the Cr chroma channel (skin is red-shifted) within a broad
   skin-colour box, morphological clean-up, the largest component, holes filled.
2. Geometry: the component's principal axis (image moments) is turned vertical with
   the fingertip up (the narrower end, not touching the border).
3. Ridges: the green channel (the best ridge contrast on skin), illumination
   flattened by dividing by a large masked Gaussian background.
4. Curvature and scale: each row is a cylinder section of the row's half width; the
   photo is resampled along the unrolled arc (``x = c + h sin(s / h)``), at a scale
   that makes the finger width ``finger_width_mm`` (default 18 mm) at 500 ppi.
5. Polarity: contactless ridges are bright, so the signal is inverted, unless its
   band-passed skewness is already that of ink prints (strongly negative).
6. CLAHE and a white background, then the same mindtct path as contact prints.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from fortify.imaging import RGBImage
from fortify.modalities.finger.images import Gray

log = logging.getLogger(__name__)

F32 = npt.NDArray[np.float32]
PPI = 500.0
FINGER_WIDTH_MM = 18.0
PHI_MAX = 1.15  # radians of the finger's cross-section kept either side of the axis
LENGTH_WIDTHS = 1.6  # fingertip length kept, in finger widths
SEG_SIDE = 480


@dataclass(frozen=True)
class ContactlessResult:
    """A contactless photo as a contact-like print, or why it could not be one."""

    gray: Gray | None
    info: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def is_colour_photo(rgb: RGBImage) -> bool:
    """A colour photo (not a grey contact print saved as RGB): enough chroma."""
    small = _small(rgb, 256)
    ycc = cv2.cvtColor(small, cv2.COLOR_RGB2YCrCb).astype(np.int16)
    chroma = np.abs(ycc[:, :, 1] - 128) + np.abs(ycc[:, :, 2] - 128)
    return float((chroma >= 12).mean()) > 0.10


def _small(rgb: RGBImage, side: int) -> RGBImage:
    h, w = rgb.shape[:2]
    f = side / max(h, w)
    if f >= 1:
        return rgb
    return np.asarray(
        cv2.resize(rgb, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA),
        np.uint8,
    )


def skin_mask(rgb: RGBImage, side: int = SEG_SIDE) -> npt.NDArray[np.uint8]:
    """Skin mask (0/1, every region) of the photo scaled to ``side`` px on its longer side.

    Otsu on the Cr chroma channel inside a skin-colour box, opened and closed.
    """
    small = _small(rgb, side)
    ycc = cv2.cvtColor(cv2.GaussianBlur(small, (5, 5), 0), cv2.COLOR_RGB2YCrCb)
    cr, cb = ycc[:, :, 1], ycc[:, :, 2]
    t, _ = cv2.threshold(cr, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    skin = (cr > max(float(t), 133.0)) & (cr < 185) & (cb > 70) & (cb < 135)
    m = skin.astype(np.uint8)
    k = max(3, round(min(small.shape[:2]) / 60)) | 1
    ker = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    m = np.asarray(cv2.morphologyEx(m, cv2.MORPH_OPEN, ker), np.uint8)
    return np.asarray(cv2.morphologyEx(m, cv2.MORPH_CLOSE, ker, iterations=2), np.uint8)


def segment(rgb: RGBImage) -> npt.NDArray[np.uint8] | None:
    """Binary finger mask (0/1) at the photo's size, or None when no skin region."""
    h, w = rgb.shape[:2]
    m = skin_mask(rgb)
    n, lab, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
    if n < 2:
        return None
    big = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    m = (lab == big).astype(np.uint8)
    # fill holes: what the border flood cannot reach is inside
    inv = (1 - m).astype(np.uint8)
    flood = np.zeros((m.shape[0] + 2, m.shape[1] + 2), np.uint8)
    outside = inv.copy()
    for y, x in (
        (0, 0),
        (0, m.shape[1] - 1),
        (m.shape[0] - 1, 0),
        (m.shape[0] - 1, m.shape[1] - 1),
    ):
        if outside[y, x]:
            cv2.floodFill(outside, flood, (x, y), 2)
    m = np.where(outside == 2, 0, 1).astype(np.uint8)
    return np.asarray(cv2.resize(m, (w, h), interpolation=cv2.INTER_NEAREST), np.uint8)


def _axis(mask: npt.NDArray[np.uint8]) -> tuple[float, float, float, float]:
    """(cx, cy, angle of the major axis in degrees, elongation) of a mask."""
    mo = cv2.moments(mask, binaryImage=True)
    cx, cy = mo["m10"] / mo["m00"], mo["m01"] / mo["m00"]
    mu20, mu02, mu11 = mo["mu20"] / mo["m00"], mo["mu02"] / mo["m00"], mo["mu11"] / mo["m00"]
    ang = 0.5 * np.degrees(np.arctan2(2 * mu11, mu20 - mu02))
    common = np.sqrt(4 * mu11**2 + (mu20 - mu02) ** 2)
    l1, l2 = (mu20 + mu02 + common) / 2, (mu20 + mu02 - common) / 2
    return float(cx), float(cy), float(ang), float(np.sqrt(l1 / max(l2, 1e-6)))


def _upright(
    rgb: RGBImage, mask: npt.NDArray[np.uint8]
) -> tuple[RGBImage, npt.NDArray[np.uint8], float]:
    """Photo and mask turned so the finger axis is vertical, tip up."""
    cx, cy, ang, _ = _axis(mask)
    h, w = mask.shape
    side = int(np.ceil(np.hypot(h, w)))
    rot = ang - 90.0  # the major axis onto the y axis (OpenCV angles are counter-clockwise)
    mat = cv2.getRotationMatrix2D((cx, cy), rot, 1.0)
    mat[0, 2] += side / 2 - cx
    mat[1, 2] += side / 2 - cy
    img = cv2.warpAffine(rgb, mat, (side, side), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))
    msk = cv2.warpAffine(mask, mat, (side, side), flags=cv2.INTER_NEAREST, borderValue=0)
    # the base is where the finger leaves the photo; without that, the tip is the narrow end
    edge = np.zeros_like(mask)
    edge[[0, -1], :], edge[:, [0, -1]] = 1, 1
    edge = np.asarray(cv2.dilate(edge & mask, np.ones((5, 5), np.uint8)), np.uint8)
    touch = cv2.warpAffine(edge, mat, (side, side), flags=cv2.INTER_NEAREST, borderValue=0)
    rows = np.nonzero(msk.any(axis=1))[0]
    y0, y1 = int(rows[0]), int(rows[-1])
    if touch.any():
        flip = float(np.nonzero(touch)[0].mean()) < (y0 + y1) / 2
    else:
        d = max(1, (y1 - y0) // 10)
        flip = bool(msk[y1 - d].sum() < msk[y0 + d].sum())
    if flip:
        img, msk, rot = img[::-1, ::-1].copy(), msk[::-1, ::-1].copy(), rot + 180.0
    return np.asarray(img, np.uint8), np.asarray(msk, np.uint8), rot


def _flatten(channel: F32, mask: F32, sigma: float) -> F32:
    """Channel divided by its masked large-scale background (illumination, shading)."""
    num = cv2.GaussianBlur(channel * mask, (0, 0), sigma)
    den = cv2.GaussianBlur(mask, (0, 0), sigma)
    bg = num / np.maximum(den, 1e-3)
    return np.asarray(np.where(mask > 0, channel / np.maximum(bg, 1.0), 1.0), np.float32)


def _ridge_area(band: F32, valid: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """Where the finger shows ridges: band energy near that of its best part, one blob."""
    env = np.sqrt(cv2.GaussianBlur(band * band, (0, 0), 8.0))
    thr = 0.4 * float(np.percentile(env[valid], 95))
    area = ((env > thr) & valid).astype(np.uint8)
    ker = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (15, 15))
    area = np.asarray(cv2.morphologyEx(area, cv2.MORPH_OPEN, ker), np.uint8)
    area = np.asarray(cv2.morphologyEx(area, cv2.MORPH_CLOSE, ker), np.uint8)
    n, lab, stats, _ = cv2.connectedComponentsWithStats(area, connectivity=8)
    if n < 2:
        return np.zeros_like(valid)
    big = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return np.asarray((lab == big) & valid, np.bool_)


def _skewness(v: F32) -> float:
    v = v - v.mean()
    sd = float(v.std())
    return float((v**3).mean() / sd**3) if sd > 0 else 0.0


def process(rgb: RGBImage, finger_width_mm: float = FINGER_WIDTH_MM) -> ContactlessResult:
    """A colour finger photo -> a contact-like 500 ppi grey print (dark ridges on white)."""
    mask = segment(rgb)
    if mask is None:
        return ContactlessResult(None, {}, "no skin-coloured region")
    share = float(mask.mean())
    info: dict[str, Any] = {"mask_share": round(share, 3)}
    if not 0.02 <= share <= 0.9:
        return ContactlessResult(None, info, f"skin region covers {share:.0%} of the photo")
    *_, elong = _axis(mask)
    info["elongation"] = round(elong, 2)
    if elong < 1.4:
        return ContactlessResult(None, info, "the skin region is not finger-shaped")
    img, msk, rot = _upright(rgb, mask)
    info["rotation_deg"] = round(rot, 1)
    rows = np.nonzero(msk.any(axis=1))[0]
    y0, y1 = int(rows[0]), int(rows[-1])
    ys = np.arange(msk.shape[0])
    left = np.where(msk.any(axis=1), msk.argmax(axis=1), 0).astype(np.float32)
    right = np.where(msk.any(axis=1), msk.shape[1] - 1 - msk[:, ::-1].argmax(axis=1), 0).astype(
        np.float32
    )
    half = np.where(msk.any(axis=1), (right - left + 1) / 2, 0).astype(np.float32)
    centre = ((left + right) / 2).astype(np.float32)
    width_px = float(np.percentile(2 * half[y0 : y1 + 1], 75))
    if width_px < 40:
        return ContactlessResult(None, info, f"the finger is only {width_px:.0f} px wide")
    # smooth the edges along the finger (segmentation noise)
    k = max(3, int(width_px / 8)) | 1
    half = np.asarray(cv2.GaussianBlur(half.reshape(-1, 1), (1, k), 0), np.float32).reshape(-1)
    centre = np.asarray(cv2.GaussianBlur(centre.reshape(-1, 1), (1, k), 0), np.float32).reshape(-1)
    r500 = finger_width_mm / 25.4 * PPI / 2
    scale = 2 * r500 / width_px  # output px per photo px
    info.update(finger_width_px=round(width_px, 1), scale=round(scale, 3))
    # ridge signal in the photo frame: green channel, illumination flattened
    green = img[:, :, 1].astype(np.float32)
    flat = _flatten(green, msk.astype(np.float32), sigma=width_px / 12)
    # unrolled output grid
    length = min(y1 - y0, LENGTH_WIDTHS * width_px)
    out_h = int(length * scale) + 16
    out_w = int(2 * r500 * PHI_MAX) + 32
    u = (np.arange(out_w, dtype=np.float32) - out_w / 2)[None, :]
    v = np.arange(out_h, dtype=np.float32)[:, None]
    py = y0 + (v - 8) / scale  # photo rows
    pyi = np.clip(np.round(py).astype(int), 0, len(ys) - 1)
    hh = np.maximum(half[pyi], 1e-3)
    phi = (u / scale) / hh
    valid = (np.abs(phi) < PHI_MAX) & (py >= y0) & (py <= y1) & (half[pyi] > 2)
    px = centre[pyi] + hh * np.sin(np.clip(phi, -PHI_MAX, PHI_MAX))
    map_x = np.broadcast_to(px, (out_h, out_w)).astype(np.float32)
    map_y = np.broadcast_to(py, (out_h, out_w)).astype(np.float32)
    sig = cv2.remap(flat, map_x, map_y, cv2.INTER_LINEAR, borderValue=1.0)
    valid &= cv2.remap(msk, map_x, map_y, cv2.INTER_NEAREST, borderValue=0) > 0
    if valid.mean() < 0.2:
        return ContactlessResult(None, info, "too little finger surface after unwrapping")
    band = cv2.GaussianBlur(sig, (0, 0), 1.0) - cv2.GaussianBlur(sig, (0, 0), 4.0)
    band[~valid] = 0.0
    valid = _ridge_area(band, valid)
    if valid.mean() < 0.1:
        return ContactlessResult(None, info, "no ridge pattern on the finger")
    sk = _skewness(band[valid])
    invert = sk > -0.3  # strongly negative skew already looks like ink
    info.update(band_skewness=round(sk, 2), inverted=bool(invert))
    if invert:
        band = -band
    # normalise the contrast inside the finger, white outside, soft edge
    vals = band[valid]
    lo, hi = np.percentile(vals, [1, 99])
    img8 = np.clip((band - lo) / max(hi - lo, 1e-6) * 255, 0, 255).astype(np.uint8)
    img8 = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply(img8)
    edge = cv2.GaussianBlur(valid.astype(np.float32), (0, 0), 3.0)
    edge = np.clip((edge - 0.5) * 2.5, 0, 1)
    out = (img8.astype(np.float32) * edge + 255 * (1 - edge)).astype(np.uint8)
    box = cv2.boundingRect(valid.astype(np.uint8))
    out = out[box[1] : box[1] + box[3], max(0, box[0] - 8) : box[0] + box[2] + 8]
    info["size"] = [int(out.shape[1]), int(out.shape[0])]
    return ContactlessResult(np.ascontiguousarray(out), info)


def decode_finger(data: bytes, max_pixels: int) -> tuple[Gray, ContactlessResult | None]:
    """Any finger image as grey; a colour photo goes through :func:`process` first.

    Returns the grey print and, for a colour photo, the contactless result (its
    ``gray`` is None and ``error`` says why when no finger was found in it).
    """
    from fortify.imaging import decode_image
    from fortify.modalities.finger.images import decode_finger_image, is_wsq

    if is_wsq(data):
        return decode_finger_image(data, max_pixels), None
    rgb = decode_image(data, max_pixels)
    if is_colour_photo(rgb):
        res = process(rgb)
        log.debug("contactless photo: %s", res.info)
        if res.gray is not None:
            return res.gray, res
        return np.zeros((0, 0), np.uint8), res
    return np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), np.uint8), None
