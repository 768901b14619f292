"""Faces lying on their side: find a face's landmarks again in quarter-turned copies.

The detectors are trained on upright faces. For a face turned by about 90 or 180 degrees
(a person lying down, a photo taken sideways without an orientation tag) they often
still find a box, but their five points are wrong, the crop shows a cheek, hair or the
background, and the template is close to the null template (a featureless crop's).
:func:`turned_detections` detects again in the image turned by a quarter, three quarters
and a half turn and maps the landmarks of the face at the same place back into the
original image, so the usual similarity transform aligns it upright.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator

import numpy as np
import numpy.typing as npt

from fortify.imaging import RGBImage
from fortify.types import Detection

TURNS = (1, 3, 2)
"""Quarter turns tried, counter-clockwise (``np.rot90``'s ``k``): 90, 270, then 180 degrees."""

Points = tuple[tuple[float, float], ...]


def unturn_points(
    points: npt.ArrayLike, k: int, height: int, width: int
) -> npt.NDArray[np.float64]:
    """Points of ``np.rot90(image, k)`` mapped back to ``image`` (``height`` x ``width``)."""
    p = np.asarray(points, np.float64).reshape(-1, 2)
    x, y = p[:, 0], p[:, 1]
    k %= 4
    if k == 1:  # turned: (x, y) -> (y, W-1-x)
        return np.stack([width - 1 - y, x], axis=1)
    if k == 2:
        return np.stack([width - 1 - x, height - 1 - y], axis=1)
    if k == 3:  # turned: (x, y) -> (H-1-y, x)
        return np.stack([y, height - 1 - x], axis=1)
    return p.copy()


def _as_points(a: npt.NDArray[np.float64]) -> Points:
    return tuple((float(x), float(y)) for x, y in a)


def turned_detections(
    image: RGBImage, face: Detection, detect: Callable[[RGBImage], list[Detection]]
) -> Iterator[Detection]:
    """``face`` with its landmarks found again in turned copies of ``image``, one per turn
    where a face is found whose landmarks (mapped back) lie inside ``face``'s box grown by
    half its size on each side; the most confident such face per turn."""
    h, w = image.shape[:2]
    b = face.bbox
    x0, y0 = b.x - b.w / 2, b.y - b.h / 2
    x1, y1 = b.x + 1.5 * b.w, b.y + 1.5 * b.h
    for k in TURNS:
        best: Detection | None = None
        for d in detect(np.ascontiguousarray(np.rot90(image, k))):
            pts = unturn_points(d.landmarks, k, h, w)
            cx, cy = pts.mean(axis=0)
            if (
                x0 <= cx <= x1
                and y0 <= cy <= y1
                and (best is None or d.confidence > best.confidence)
            ):
                dlib = d.dlib_points
                best = dataclasses.replace(
                    d,
                    bbox=face.bbox,
                    landmarks=_as_points(pts),
                    chip=None,
                    dlib_points=None if dlib is None else _as_points(unturn_points(dlib, k, h, w)),
                )
        if best is not None:
            yield best
