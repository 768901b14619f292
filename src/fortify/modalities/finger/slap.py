"""Four-finger slaps (ISO/IEC 19794-4 codes 13 and 14): one image -> up to four fingertips.

A slap is the four fingers of one hand (thumb apart) in one image: a contact slap
(grey, dark ridges on a light scanner glass or card) or a colour photo of the
fingers. Each fingertip found becomes its own finger image, which then goes
through the normal finger acquisition (``FingerModality.acquire``).

Segmentation: a mask of the hand (contact: the blocks with ridge contrast, as
:func:`fortify.modalities.finger.enhance.foreground`; photo: the skin mask of
:func:`fortify.modalities.finger.contactless.skin_mask`). Fingers are what the
mask shows as separate runs across a row: the row where most fingers are seen
apart, and the lowest such row (just above where the fingers join the palm), is
the *split row*; each connected region of the mask above it that crosses it is a
finger. More than four: the four largest. Fewer than two: ``no_finger``.

Finger positions, in image order (the convention of slap cards and scanners, an
image as the paper sees it): a **right** hand shows index, middle, ring, little
from left to right, a **left** hand little, ring, middle, index. A colour photo
shows the pads as the camera sees them (palm towards the camera, fingers up),
the mirror of a print, so its order is reversed (right hand: index on the right).
With fewer than four fingers found, positions are given from the index on and the
fingertips carry the warning ``slap_positions_assumed``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import cv2
import numpy as np
import numpy.typing as npt

from fortify.errors import NoFingerFound
from fortify.imaging import RGBImage, decode_image
from fortify.modalities.finger import contactless, enhance
from fortify.modalities.finger.images import Gray, decode_wsq, encode_png, is_wsq

log = logging.getLogger(__name__)

Mask = npt.NDArray[np.uint8]
HANDS: dict[int, tuple[int, int, int, int]] = {13: (2, 3, 4, 5), 14: (10, 9, 8, 7)}
"""Slap code -> finger codes in print order, left to right (right: index..little)."""
MIN_RUN = 0.025
"""A run across a row counts as a finger if at least this share of the image width."""
MIN_ROWS = 0.04
"""A finger count must hold over at least this share of the rows to count."""
SIDE = 640
"""Masks are computed with the longer side at most this many pixels."""
MIN_WIDTH = 0.6
"""A finger is at least this share of the widest finger's width (specks are not)."""
PHOTO_ELONGATION = 1.3
"""In a photo, a finger above the split row is at least this many widths tall."""


def is_slap(code: int) -> bool:
    return code in HANDS


@dataclass(frozen=True)
class Fingertip:
    """One finger of a slap: its position, where it was, and its image (PNG)."""

    finger_position: int
    box: list[int]
    """[x, y, w, h] in the slap image."""
    data: bytes = field(repr=False)
    warnings: tuple[str, ...] = ()


def _runs(row: Mask, min_len: int) -> list[tuple[int, int]]:
    """(start, end) of the runs of ones at least ``min_len`` long."""
    d = np.diff(np.concatenate([[0], row.astype(np.int8), [0]]))
    starts, ends = np.nonzero(d == 1)[0], np.nonzero(d == -1)[0]
    return [(int(a), int(b)) for a, b in zip(starts, ends, strict=True) if b - a >= min_len]


def finger_regions(mask: Mask, min_elongation: float = 0.0) -> list[Mask]:
    """The fingers of a hand mask (0/1): one 0/1 mask each, left to right.

    A finger is at least :data:`MIN_WIDTH` of the widest one and, above the split
    row, at least ``min_elongation`` times as tall as wide (photos: fingers stand out
    of the palm; a contact print of a fingertip is about square).
    """
    h, w = mask.shape
    if not mask.any():
        return []
    min_len = max(2, round(MIN_RUN * w))
    counts = np.array([len(_runs(mask[y], min_len)) for y in range(h)])
    need = max(2, round(MIN_ROWS * h))
    held = [c for c in range(1, int(counts.max()) + 1) if int((counts == c).sum()) >= need]
    if not held:
        return []
    best = max(held)
    split = int(np.nonzero(counts == best)[0].max())
    upper = mask.copy()
    upper[split + 1 :] = 0
    _, lab, stats, _ = cv2.connectedComponentsWithStats(upper, connectivity=8)
    crossing = {int(lab[split, (a + b) // 2]) for a, b in _runs(upper[split], min_len)} - {0}
    wide = max((int(stats[i, cv2.CC_STAT_WIDTH]) for i in crossing), default=0)
    keep = [
        i
        for i in crossing
        if stats[i, cv2.CC_STAT_WIDTH] >= MIN_WIDTH * wide
        and stats[i, cv2.CC_STAT_HEIGHT] >= min_elongation * stats[i, cv2.CC_STAT_WIDTH]
    ]
    if len(keep) < 2:
        return []
    keep = sorted(keep, key=lambda i: -int(stats[i, cv2.CC_STAT_AREA]))[:4]
    keep.sort(key=lambda i: int(stats[i, cv2.CC_STAT_LEFT]) + int(stats[i, cv2.CC_STAT_WIDTH]) / 2)
    # a finger apart from the others below the split row too (a contact slap) keeps its
    # lower part; fingers that join there (the palm of a photo) are cut at the split row
    _, whole = cv2.connectedComponents(mask, connectivity=8)
    owner = [int(whole[lab == i][0]) for i in keep]
    out = []
    for i, o in zip(keep, owner, strict=True):
        part = lab == i
        if owner.count(o) == 1:
            part |= whole == o
        out.append(part.astype(np.uint8))
    return out


def _positions(code: int, found: int, photo: bool) -> list[int]:
    """Finger codes of ``found`` regions in image order, left to right."""
    order = list(HANDS[code])  # print order, left to right
    if photo:
        order.reverse()  # the camera sees the pads: the mirror of a print
    if found >= 4:
        return order
    index_first = order if order[0] in (2, 7) else order[::-1]
    taken = index_first[:found]  # from the index on
    return [p for p in order if p in taken]


def fingertips(data: bytes, code: int, max_pixels: int) -> list[Fingertip]:
    """The fingertips of a slap image (``code`` 13 right, 14 left), in position order.

    Raises ``no_finger`` when fewer than two fingers are found.
    """
    if not is_slap(code):
        raise ValueError(f"{code} is not a slap code (13 or 14)")
    rgb: RGBImage | None = None
    if is_wsq(data):
        gray: Gray = decode_wsq(data)
    else:
        rgb = decode_image(data, max_pixels)
        gray = np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), np.uint8)
    photo = rgb is not None and contactless.is_colour_photo(rgb)
    h, w = gray.shape
    if photo and rgb is not None:
        small = contactless.skin_mask(rgb, SIDE)
    else:
        f = min(1.0, SIDE / max(h, w))
        fg = enhance.foreground(gray).astype(np.uint8)
        size = (max(1, round(w * f)), max(1, round(h * f)))
        small = np.asarray(cv2.resize(fg, size, interpolation=cv2.INTER_NEAREST), np.uint8)
    regions = finger_regions(small, PHOTO_ELONGATION if photo else 0.0)
    info = {"fingers_found": len(regions), "photo": photo}
    if len(regions) < 2:
        raise NoFingerFound(
            f"a four-finger image needs at least two fingers apart; found {len(regions)}",
            quality={"slap": info},
            warnings=["no_finger"],
        )
    positions = _positions(code, len(regions), photo)
    warn = ("slap_positions_assumed",) if len(regions) < 4 else ()
    out: list[Fingertip] = []
    pad = max(4, round(0.02 * max(h, w)))
    grow = np.ones((2 * pad + 1, 2 * pad + 1), np.uint8)
    for pos, region in zip(positions, regions, strict=True):
        full = np.asarray(cv2.resize(region, (w, h), interpolation=cv2.INTER_NEAREST), np.uint8)
        full = np.asarray(cv2.dilate(full, grow), np.uint8)
        x, y, bw, bh = (int(v) for v in cv2.boundingRect(full))
        inside = full[y : y + bh, x : x + bw] > 0
        if photo and rgb is not None:  # other fingers blacked out (not skin)
            crop = np.where(inside[:, :, None], rgb[y : y + bh, x : x + bw], 0).astype(np.uint8)
            png = encode_png(np.asarray(cv2.cvtColor(crop, cv2.COLOR_RGB2BGR), np.uint8))
        else:  # other fingers whited out (paper)
            png = encode_png(np.where(inside, gray[y : y + bh, x : x + bw], 255).astype(np.uint8))
        out.append(Fingertip(pos, [x, y, bw, bh], png, warn))
    log.debug("slap %d: %s", code, info)
    return sorted(out, key=lambda t: t.finger_position)  # index, middle, ring, little
