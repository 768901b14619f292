"""Photo -> MRZ reading: locate bands, read both ways up, cut cells, OCR, decode, pick the best."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from fortify.errors import MrzUnreadable, NoDocumentFound
from fortify.modalities.document.locate import RECT_CHAR_H, find_bands, mrz_like_line
from fortify.modalities.document.mrz import MrzReading, decode, layouts_for
from fortify.modalities.document.ocr import (
    CharClassifier,
    cell_patches,
    default_classifier,
    normalise_line,
)

log = logging.getLogger(__name__)
U8 = npt.NDArray[Any]  # grey uint8 image (OpenCV stubs type results loosely)


@dataclass
class _Line:
    y_top: float
    y_bot: float
    xs: npt.NDArray[np.float64]


def _band_lines(band: U8, n_lines: int) -> list[_Line] | None:
    binary = cv2.threshold(band, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)[1]
    _, _, stats, cents = cv2.connectedComponentsWithStats(binary, connectivity=8)
    st, ce = stats[1:], cents[1:]
    hmax = band.shape[0] / n_lines
    keep = (
        (st[:, 3] >= 0.4 * RECT_CHAR_H)
        & (st[:, 3] < hmax)
        & (st[:, 2] < 3 * hmax / 1.7)
        & (st[:, 4] > 12)
    )
    st, ce = st[keep], ce[keep]
    if len(ce) < 10 * n_lines:
        return None
    # line centres: the band was cut with fixed margins around the first and last line
    h = band.shape[0]
    char_h = RECT_CHAR_H
    first = 1.4 * char_h
    centres = np.linspace(first, h - first, n_lines) if n_lines > 1 else np.array([h / 2])
    out = []
    for yc in centres:
        sel = np.abs(ce[:, 1] - yc) < 0.6 * char_h
        if sel.sum() < 8:
            return None
        s2, c2 = st[sel], ce[sel]
        tall = s2[:, 3] >= 0.75 * np.percentile(s2[:, 3], 80)
        top = float(np.median(s2[tall, 1]))
        bot = float(np.median(s2[tall, 1] + s2[tall, 3]))
        xs = np.sort(c2[:, 0])
        merged = [xs[0]]
        for x in xs[1:]:  # fragments of one character
            if x - merged[-1] < 0.3 * RECT_CHAR_H:
                merged[-1] = (merged[-1] + x) / 2
            else:
                merged.append(x)
        out.append(_Line(top, bot, np.asarray(merged)))
    return out


def _grids(xs: npt.NDArray[np.float64], n: int) -> list[npt.NDArray[np.float64]]:
    """Candidate cell centres: spanning the first to the last component, and (in case a
    character at either end was lost) anchored at one end with the median pitch."""
    x0, x1 = xs[0], xs[-1]
    p = (x1 - x0) / (n - 1)
    idx = np.round((xs - x0) / p)
    ok = (idx >= 0) & (idx < n)
    a, b = np.polyfit(idx[ok], xs[ok], 1) if ok.sum() > 2 else (p, x0)
    grids = [b + a * np.arange(n)]
    gaps = np.diff(xs)
    med = float(np.median(gaps[gaps > 0.5 * p])) if np.any(gaps > 0.5 * p) else p
    span = (x1 - x0) / med
    if span < n - 1.5:  # too short for n characters: one end is missing
        grids.append(x0 + med * np.arange(n))
        grids.append(x1 - med * np.arange(n)[::-1])
    elif span > n - 0.5 and len(xs) > n // 2:  # too long: a stray mark at one end
        grids.append(xs[1] + med * np.arange(n))
        grids.append(xs[-2] - med * np.arange(n)[::-1])
    return grids


def _score(r: MrzReading) -> float:
    ok = sum(c.ok for c in r.checks) / max(len(r.checks), 1)
    return 10 * ok + r.confidence - 0.2 * len(r.corrections)


def read_band(band: U8, n_lines: int, clf: CharClassifier) -> list[MrzReading]:
    lines = _band_lines(band, n_lines)
    if lines is None:
        return []
    norm = normalise_line(band)
    readings = []
    widths = sorted(
        {
            lay.width
            for lay in layouts_for(n_lines, 44)
            + layouts_for(n_lines, 36)
            + layouts_for(n_lines, 30)
        }
    )
    for width in widths:
        per_line = [_grids(ln.xs, width) for ln in lines]
        options = max(len(g) for g in per_line)
        for opt in range(options):
            patches = []
            for ln, grids in zip(lines, per_line, strict=True):
                cx = grids[min(opt, len(grids) - 1)]
                pitch = float(np.median(np.diff(cx)))
                patches.append(cell_patches(norm, cx, ln.y_top, ln.y_bot, pitch))
            probs = clf.probabilities(np.concatenate(patches)).reshape(n_lines, width, -1)
            for lay in layouts_for(n_lines, width):
                if lay.name.startswith("MRV") != (probs[0, 0].argmax() == 31):  # 'V'
                    continue
                r = decode(lay, probs)
                if r.lines[0][0] != "<" and r.fields["document_number"]:
                    readings.append(r)
    return readings


def read_mrz(gray: U8, clf: CharClassifier | None = None) -> MrzReading:
    """The best MRZ reading in a grey photo; raises ``no_document`` / ``mrz_unreadable``."""
    clf = clf or default_classifier()
    bands = find_bands(gray)
    if not bands:
        if mrz_like_line(gray):
            raise MrzUnreadable("only part of a machine-readable zone is in view", partial=True)
        raise NoDocumentFound("no machine-readable zone found in the image")
    best: MrzReading | None = None
    for band in bands:
        for img in (band.image, cv2.rotate(band.image, cv2.ROTATE_180)):
            for r in read_band(img, band.n_lines, clf):
                if best is None or _score(r) > _score(best):
                    best = r
            if best is not None and best.valid and best.confidence > 0.5:
                return best
    if best is None or sum(c.ok for c in best.checks) < len(best.checks) / 2:
        raise MrzUnreadable(
            "found a machine-readable zone but could not read it",
            checks_ok=0 if best is None else sum(c.ok for c in best.checks),
        )
    return best
