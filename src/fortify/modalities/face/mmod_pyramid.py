"""Geometry of dlib's MMOD CNN face detector, in numpy: pyramid, box mapping, NMS.

Written from dlib's documented behaviour, so that the ONNX-run network sees the same input
tensor and its output is read the same way:

* ``input_rgb_image_pyramid<pyramid_down<6>>`` (``dlib/dnn/input.h``): the image, as
  ``(pixel - channel average) / 256``, and its pyramid levels (each ``floor(5/6)`` of the
  previous one, down to 5 rows) are tiled into one zero-filled tensor
  (``compute_tiled_image_pyramid_details`` in ``dlib/image_transforms/image_pyramid.h``);
  each level is a bilinear resize of the previous level *in tensor space* (dlib's
  ``resize_image`` for float images, sample positions accumulated the way its SIMD loop
  does), so detections near tile borders match dlib's too.
* ``loss_mmod_::to_label`` (``dlib/dnn/loss.h``): every output cell scoring above the
  threshold is a detector window centred on the cell's input point, mapped back to the
  image from the pyramid tile its centre is nearest to; windows are sorted by score and
  kept greedily unless they overlap a kept one by ``test_box_overlap`` (intersection over
  the *bounding box* of the pair, or over either box).
* ``pyramid_up`` with ``pyramid_down<2>`` for the Python API's ``upsample_num_times``.

Rectangles are dlib's: ``(left, top, right, bottom)`` with inclusive corners.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]
Rect = tuple[int, int, int, int]
DRect = tuple[float, float, float, float]

MIN_LEVEL_ROWS = 5


def round_half_up(v: float) -> int:
    """dlib's double -> long conversion for points and rectangles: ``floor(v + 0.5)``."""
    return math.floor(v + 0.5)


def to_rect(r: DRect) -> Rect:
    """``drectangle`` -> ``rectangle``."""
    return (
        round_half_up(r[0]),
        round_half_up(r[1]),
        round_half_up(r[2]),
        round_half_up(r[3]),
    )


def rect_area(r: Rect) -> int:
    w, h = r[2] - r[0] + 1, r[3] - r[1] + 1
    return 0 if w <= 0 or h <= 0 else w * h


# --- tiled pyramid layout ----------------------------------------------------------------


def level_sizes(nr: int, nc: int, n: int = 6) -> list[tuple[int, int]]:
    """(rows, cols) of each ``pyramid_down<n>`` level, the image first."""
    rate = (n - 1.0) / n
    sizes = [(nr, nc)]
    while True:
        nr, nc = math.floor(rate * nr), math.floor(rate * nc)
        if nr * nc == 0 or nr < MIN_LEVEL_ROWS:
            return sizes
        sizes.append((nr, nc))


@dataclass(frozen=True)
class PyramidLayout:
    """Where each pyramid level sits in the tiled tensor of ``nr`` x ``nc``."""

    rects: tuple[Rect, ...]
    nr: int
    nc: int


def tiled_layout(
    nr: int, nc: int, *, padding: int = 10, outer_padding: int = 11, n: int = 6
) -> PyramidLayout:
    """The tile placement of dlib's ``compute_tiled_image_pyramid_details``."""
    if nr * nc == 0:
        return PyramidLayout((), 0, 0)
    sizes = level_sizes(nr, nc, n)
    h0, w0 = sizes[0]
    total_height = sum(h + padding for h, _ in sizes) - 2 * padding
    height = prev_width = 0
    for h, w in sizes:  # first column: until the rest fits beside the previous level
        if w <= w0 - prev_width - padding and (height - h0) * 2 >= total_height - h0:
            break
        height += h + padding
        prev_width = w
    height -= padding
    rects: list[Rect] = []
    y, i = outer_padding, 0
    while y < height + outer_padding and i < len(sizes):
        h, w = sizes[i]
        rects.append((outer_padding, y, outer_padding + w - 1, y + h - 1))
        y += h + padding
        i += 1
    y -= padding
    first = rects[0]
    while i < len(sizes):  # second column: right-aligned, stacked upwards from the bottom
        h, w = sizes[i]
        right, bottom = outer_padding + w0 - 1, y - 1
        rect = (right - (w - 1), bottom - (h - 1), right, bottom)
        if _intersects(first, rect):
            break
        rects.append(rect)
        y -= h + padding
        i += 1
    return PyramidLayout(tuple(rects), height + 2 * outer_padding, w0 + 2 * outer_padding)


def _intersects(a: Rect, b: Rect) -> bool:
    return max(a[0], b[0]) <= min(a[2], b[2]) and max(a[1], b[1]) <= min(a[3], b[3])


# --- bilinear resize as dlib does it ---------------------------------------------------


def _simd_columns(in_nc: int, out_nc: int) -> tuple[npt.NDArray[np.intp], F32, int]:
    """Left sample index and weight of each column dlib's 4-wide loop writes, and its count.

    The loop keeps the 4 x positions in float32 and adds ``4 * x_scale`` each step; it
    stops at the first group whose last right neighbour falls outside the input.
    """
    xs = (in_nc - 1) / max(out_nc - 1, 1)
    groups = out_nc // 4 + 2
    steps = np.empty((groups, 4), dtype=np.float32)
    x0 = -4 * xs
    steps[0] = np.array([x0, x0 + xs, x0 + 2 * xs, x0 + 3 * xs], dtype=np.float64)
    steps[1:] = np.float32(4 * xs)
    x = np.add.accumulate(steps, axis=0, dtype=np.float32)[1:]  # float32, in loop order
    left = x.astype(np.int32)  # truncation (_mm_cvttps_epi32)
    bad = np.nonzero(left[:, 3] + 1 >= in_nc)[0]
    n_groups = int(bad[0]) if bad.size else groups - 1
    n = min(4 * n_groups, out_nc)
    left_f = left.reshape(-1)[:n]
    frac = (x.reshape(-1)[:n] - left_f.astype(np.float32)).astype(np.float32)
    return left_f.astype(np.intp), frac, n


def _tail_columns(
    in_nc: int, out_nc: int, start: int, *, float_frac: bool = True
) -> tuple[list[int], list[float]]:
    """Columns after the 4-wide loop: x accumulated in double; the fraction is float32
    for float images and double for RGB ones."""
    xs = (in_nc - 1) / max(out_nc - 1, 1)
    x = -xs + start * xs
    lefts: list[int] = []
    fracs: list[float] = []
    for _ in range(start, out_nc):
        x += xs
        left = math.floor(x)
        lefts.append(left)
        fracs.append(float(np.float32(x - left)) if float_frac else x - left)
    return lefts, fracs


def _rows(in_nr: int, out_nr: int) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float64]]:
    ys = (in_nr - 1) / max(out_nr - 1, 1)
    steps = np.full(out_nr + 1, ys, dtype=np.float64)
    steps[0] = -ys
    y = np.add.accumulate(steps)[1:]
    top = np.floor(y).astype(np.intp)
    return top, y - top


def resize_planes(src: F32, out_nr: int, out_nc: int) -> F32:
    """dlib's ``resize_image`` (bilinear) of float planes ``src`` (C, nr, nc)."""
    _, in_nr, in_nc = src.shape
    top, tb = _rows(in_nr, out_nr)
    bottom = np.minimum(top + 1, in_nr - 1)
    left, lr, n = _simd_columns(in_nc, out_nc)
    tail_left, tail_lr = _tail_columns(in_nc, out_nc, n)
    lefts = np.concatenate([left, np.asarray(tail_left, dtype=np.intp)])
    fracs = np.concatenate([lr, np.asarray(tail_lr, dtype=np.float32)])
    rights = np.minimum(lefts + 1, in_nc - 1)
    horiz = np.take(src, lefts, axis=2)  # (C, in_nr, out_nc): a + f (b - a)
    diff = np.take(src, rights, axis=2)
    diff -= horiz
    diff *= fracs
    horiz += diff
    out = np.take(horiz, top, axis=1)
    lower = np.take(horiz, bottom, axis=1)
    lower -= out
    lower *= tb.astype(np.float32)[None, :, None]
    out += lower
    return np.ascontiguousarray(out, dtype=np.float32)


def build_tiled_pyramid(image: U8, avg: tuple[float, float, float], layout: PyramidLayout) -> F32:
    """The input tensor (1, 3, nr, nc) of ``input_rgb_image_pyramid`` for an RGB image."""
    t = np.zeros((3, layout.nr, layout.nc), dtype=np.float32)
    if not layout.rects:
        return t[None]
    l0, t0, r0, b0 = layout.rects[0]
    level0 = t[:, t0 : b0 + 1, l0 : r0 + 1]
    level0[...] = np.moveaxis(np.asarray(image), 2, 0)
    level0 -= np.asarray(avg, dtype=np.float32)[:, None, None]
    level0 *= np.float32(1 / 256)
    for prev, cur in zip(layout.rects, layout.rects[1:], strict=False):
        src = t[:, prev[1] : prev[3] + 1, prev[0] : prev[2] + 1]
        out_nr, out_nc = cur[3] - cur[1] + 1, cur[2] - cur[0] + 1
        t[:, cur[1] : cur[3] + 1, cur[0] : cur[2] + 1] = resize_planes(src, out_nr, out_nc)
    return t[None]


# --- tensor space -> image space ---------------------------------------------------------


def _nearest_rect(rects: tuple[Rect, ...], x: int, y: int) -> int:
    best, best_d = 0, math.inf
    for i, (left, top, right, bottom) in enumerate(rects):
        if left <= x <= right and top <= y <= bottom:
            return i
        nx, ny = min(max(x, left), right), min(max(y, top), bottom)
        d = math.hypot(nx - x, ny - y)
        if d < best_d:
            best, best_d = i, d
    return best


def tensor_to_image(layout: PyramidLayout, r: DRect, n: int = 6) -> DRect:
    """``tiled_pyramid_to_image``: a tensor-space box mapped back to the image."""
    cx, cy = round_half_up((r[0] + r[2]) / 2), round_half_up((r[1] + r[3]) / 2)
    level = _nearest_rect(layout.rects, cx, cy)
    ox, oy = layout.rects[level][0], layout.rects[level][1]
    ratio = n / (n - 1.0)
    pts = [r[0] - ox, r[1] - oy, r[2] - ox, r[3] - oy]
    for _ in range(level):
        pts = [p * ratio + 0.3 for p in pts]
    return (pts[0], pts[1], pts[2], pts[3])


# --- non-max suppression -----------------------------------------------------------------


def boxes_overlap(a: Rect, b: Rect, iou_thresh: float, covered_thresh: float) -> bool:
    """dlib's ``test_box_overlap`` (the "union" is the pair's bounding box)."""
    inner = rect_area((max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])))
    if inner == 0:
        return False
    outer = rect_area((min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])))
    return (
        inner / outer > iou_thresh
        or inner / rect_area(a) > covered_thresh
        or inner / rect_area(b) > covered_thresh
    )


def suppress(
    boxes: list[tuple[Rect, float]], iou_thresh: float, covered_thresh: float
) -> list[tuple[Rect, float]]:
    """Greedy NMS over boxes already sorted best first."""
    kept: list[tuple[Rect, float]] = []
    for rect, score in boxes:
        if not any(boxes_overlap(k, rect, iou_thresh, covered_thresh) for k, _ in kept):
            kept.append((rect, score))
    return kept


# --- upsampling (the Python API's upsample_num_times) ------------------------------------


def pyramid_up2(image: U8) -> U8:
    """dlib's ``pyramid_up(img, pyramid_down<2>)`` of an RGB uint8 image.

    The output is ``rect_up(get_rect(img))`` sized, (2 nr + 1) x (2 nc + 2), filled by
    ``resize_image``'s 4-wide bilinear loop (float weights, truncated to uint8).
    """
    in_nr, in_nc = image.shape[:2]
    out_nr, out_nc = 2 * in_nr + 1, 2 * in_nc + 2
    top, tb = _rows(in_nr, out_nr)
    bottom = np.minimum(top + 1, in_nr - 1)
    left, lr, n = _simd_columns(in_nc, out_nc)
    src = np.asarray(image, dtype=np.float32)  # (nr, nc, 3)
    tb32 = tb.astype(np.float32)[:, None, None]
    inv_tb = (1 - tb).astype(np.float32)[:, None, None]
    inv_lr = (np.float32(1) - lr)[None, :, None]
    lr3 = lr[None, :, None]
    upper, lower = np.take(src, top, axis=0), np.take(src, bottom, axis=0)
    body = np.take(upper, left, axis=1)  # ((tlf tl + trf tr) + blf bl) + brf br, in float32
    body *= inv_tb * inv_lr
    part = np.take(upper, left + 1, axis=1)
    part *= inv_tb * lr3
    body += part
    part = np.take(lower, left, axis=1)
    part *= tb32 * inv_lr
    body += part
    part = np.take(lower, left + 1, axis=1)
    part *= tb32 * lr3
    body += part
    out = np.empty((out_nr, out_nc, 3), dtype=np.uint8)
    out[:, :n] = body.astype(np.uint8)  # truncation, as dlib's float -> int32 -> uint8
    src64 = src.astype(np.float64)
    tail_left, tail_lr = _tail_columns(in_nc, out_nc, n, float_frac=False)
    for j, (tl_i, f) in enumerate(zip(tail_left, tail_lr, strict=True)):
        tr_i = min(tl_i + 1, in_nc - 1)
        upper_px = (1 - f) * src64[top, tl_i] + f * src64[top, tr_i]
        lower_px = (1 - f) * src64[bottom, tl_i] + f * src64[bottom, tr_i]
        val = (1 - tb)[:, None] * upper_px + tb[:, None] * lower_px
        out[:, n + j] = val.astype(np.uint8)
    return out


def rect_down2(r: Rect, levels: int) -> Rect:
    """``pyramid_down<2>::rect_down(rect, levels)`` (corners mapped in double, rounded)."""
    x0, y0, x1, y1 = float(r[0]), float(r[1]), float(r[2]), float(r[3])
    for _ in range(levels):
        x0, y0, x1, y1 = x0 / 2 - 1.25, y0 / 2 - 0.75, x1 / 2 - 1.25, y1 / 2 - 0.75
    return to_rect((x0, y0, x1, y1))
