"""Find MRZ bands in a photo, at any rotation, and rectify them.

Characters are found as connected components of an adaptive threshold; each links to its two
nearest similar-sized neighbours; links that disagree with their chain's dominant direction
are dropped, so chains are text lines at any angle. Two or three parallel, equally long,
evenly spaced lines of many characters are an MRZ band candidate. The band's corners (from its
first and last line) map to a rectangle, which undoes rotation and perspective; upside-down is
settled later by the OCR (both ways are read).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

U8 = npt.NDArray[Any]  # grey uint8 image (OpenCV stubs type results loosely)
F64 = npt.NDArray[np.float64]
WORK_SIDE = 1400
RECT_CHAR_H = 30.0


@dataclass(eq=False)
class TextLine:
    u: F64  # unit direction along the line
    n: F64  # unit normal
    offset: float  # position along n
    t0: float
    t1: float
    height: float
    count: int
    centers: F64


@dataclass
class Band:
    image: U8  # rectified grey band, characters ~RECT_CHAR_H high, lines horizontal
    n_lines: int
    quad: F64  # 4 corners in the original image (tl, tr, br, bl)


def _components(gray: U8) -> tuple[F64, F64, F64]:
    side = max(gray.shape)
    block = max(15, (side // 40) | 1)
    binary = cv2.adaptiveThreshold(
        gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block, 8
    )
    _, _, stats, cents = cv2.connectedComponentsWithStats(binary, connectivity=8)
    w, h, area = stats[1:, 2], stats[1:, 3], stats[1:, 4]
    s = np.maximum(w, h).astype(np.float64)
    keep = (s >= 5) & (s <= side / 12) & (area >= 10) & (area <= 0.9 * w * h) & (h >= 3)
    return cents[1:][keep].astype(np.float64), s[keep], h[keep].astype(np.float64)


def _links(c: F64, s: F64) -> list[tuple[int, int]]:
    """Each component's two nearest similar-sized neighbours (searched in an x window)."""
    links: list[tuple[int, int]] = []
    order = np.argsort(c[:, 0])
    c, s = c[order], s[order]
    reach = 2.3 * float(s.max())
    xs = c[:, 0]
    for a in range(0, len(c), 256):
        b = min(a + 256, len(c))
        lo = int(np.searchsorted(xs, xs[a] - reach))
        hi = int(np.searchsorted(xs, xs[b - 1] + reach, side="right"))
        d = np.linalg.norm(c[a:b, None, :] - c[None, lo:hi, :], axis=2)
        sa, sb = s[a:b, None], s[None, lo:hi]
        big = np.maximum(sa, sb)
        d[(big / np.minimum(sa, sb) > 2.8) | (d > 2.3 * big) | (d == 0)] = np.inf
        near = np.argsort(d, axis=1)[:, :2]
        for r in range(b - a):
            for j in near[r]:
                if np.isfinite(d[r, j]):
                    links.append((int(order[a + r]), int(order[lo + j])))
    return links


def _groups(n: int, links: list[tuple[int, int]]) -> list[list[int]]:
    """Connected groups (of at least 10) of the link graph."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in links:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[ra] = rb
    groups: dict[int, list[int]] = {}
    for i in list(parent):
        groups.setdefault(find(i), []).append(i)
    return [g for g in groups.values() if len(g) >= 10]


def _lines(c: F64, s: F64, h: F64) -> list[TextLine]:
    links = _links(c, s)
    lines: list[TextLine] = []
    label = np.full(len(c), -1)
    groups = _groups(len(c), links)
    for k, g in enumerate(groups):
        label[g] = k
    by_group: dict[int, list[tuple[int, int]]] = {}
    for a, b in links:
        if label[a] >= 0:
            by_group.setdefault(int(label[a]), []).append((a, b))
    for k in range(len(groups)):
        glinks = by_group[k]
        vec = np.array([c[b] - c[a] for a, b in glinks])
        ang = np.degrees(np.arctan2(vec[:, 1], vec[:, 0])) % 180
        hist = np.histogram(ang, bins=36, range=(0, 180))[0].astype(np.float64)
        hist = hist + 0.5 * (np.roll(hist, 1) + np.roll(hist, -1))
        dom = (np.argmax(hist) + 0.5) * 5
        nd = np.array([-np.sin(np.radians(dom)), np.cos(np.radians(dom))])
        perp = np.abs(vec @ nd)
        size = np.array([max(s[a], s[b]) for a, b in glinks])
        kept = [lk for lk, ok in zip(glinks, perp < 0.4 * size, strict=True) if ok]
        for sub in _groups(len(c), kept):
            lines.extend(_fit(c[sub], s[sub], h[sub]))
    return lines


def _fit(c: F64, s: F64, h: F64, depth: int = 0) -> list[TextLine]:
    if len(c) < 10:
        return []
    mean = c.mean(axis=0)
    _, _, vt = np.linalg.svd(c - mean, full_matrices=False)
    u = vt[0]
    if u[0] < 0:
        u = -u
    nrm = np.array([-u[1], u[0]])
    t = (c - mean) @ u
    off = (c - mean) @ nrm
    med = float(np.median(s))
    if np.std(off) > 0.3 * med:
        if depth > 2:
            return []
        # Several lines joined by a stray link: split where the offsets jump.
        order = np.argsort(off)
        cuts = np.nonzero(np.diff(off[order]) > 0.35 * med)[0] + 1
        if len(cuts) == 0:
            return []
        out: list[TextLine] = []
        for part in np.split(order, cuts):
            out.extend(_fit(c[part], s[part], h[part], depth + 1))
        return out
    return [
        TextLine(
            u,
            nrm,
            float(mean @ nrm),
            float(t.min() + mean @ u),
            float(t.max() + mean @ u),
            float(np.percentile(h, 75)),
            len(c),
            c,
        )
    ]


def _merge_collinear(lines: list[TextLine]) -> list[TextLine]:
    lines = sorted(lines, key=lambda ln: ln.t0)
    out: list[TextLine] = []
    for ln in lines:
        for o in out:
            if (
                abs(float(o.u @ ln.u)) > 0.995
                and abs(o.offset - ln.offset) < 0.5 * o.height
                and ln.t0 - o.t1 < 4 * o.height
                and abs(ln.height / o.height - 1) < 0.35
            ):
                o.t1 = max(o.t1, ln.t1)
                o.count += ln.count
                o.centers = np.vstack([o.centers, ln.centers])
                break
        else:
            out.append(ln)
    return out


def _point(ln: TextLine, t: float, dn: float) -> F64:
    p: F64 = ln.u * t + ln.n * (ln.offset + dn)
    return p


def _candidates(lines: list[TextLine]) -> list[list[TextLine]]:
    long = [ln for ln in lines if ln.count >= 18 and (ln.t1 - ln.t0) > 12 * ln.height]
    long.sort(key=lambda ln: -ln.count)
    long = long[:12]
    bands: list[tuple[float, list[TextLine]]] = []
    for i, a in enumerate(long):
        par = [
            b for b in long if abs(float(a.u @ b.u)) > 0.99 and abs(b.height / a.height - 1) < 0.4
        ]
        par.sort(key=lambda b: b.offset)
        for k in (3, 2):
            for j in range(len(par) - k + 1):
                grp = par[j : j + k]
                if not any(g is a for g in grp):
                    continue
                gaps = np.diff([g.offset for g in grp]) / a.height
                if np.any(gaps < 1.15) or np.any(gaps > 3.2):
                    continue
                if k == 3 and abs(gaps[1] / gaps[0] - 1) > 0.3:
                    continue
                lens = [g.t1 - g.t0 for g in grp]
                if min(lens[:2]) / max(lens[:2]) < 0.75 or min(lens) / max(lens) < 0.4:
                    continue
                t0 = [g.t0 for g in grp]
                if max(t0) - min(t0) > 3 * a.height:
                    continue
                bands.append((-sum(g.count for g in grp) - 100 * i, grp))
    seen: set[tuple[int, ...]] = set()
    out = []
    for _, grp in sorted(bands, key=lambda b: b[0]):
        key = tuple(sorted(id(g) for g in grp))
        if key not in seen:
            seen.add(key)
            out.append(grp)
    return out[:6]


def _work(gray: U8) -> tuple[float, U8]:
    scale = WORK_SIDE / max(gray.shape)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    return scale, cv2.resize(gray, None, fx=scale, fy=scale, interpolation=interp)


def mrz_like_line(gray: U8) -> bool:
    """A single line of many evenly spaced characters: an MRZ that is only partly in view."""
    _, work = _work(gray)
    c, s, h = _components(work)
    if len(c) < 20:
        return False
    lines = _merge_collinear(_lines(c, s, h))
    return any(ln.count >= 28 and (ln.t1 - ln.t0) > 18 * ln.height for ln in lines)


def find_bands(gray: U8) -> list[Band]:
    """Rectified MRZ band candidates, most plausible first."""
    scale = WORK_SIDE / max(gray.shape)
    work = cv2.resize(
        gray,
        None,
        fx=scale,
        fy=scale,
        interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC,
    )
    c, s, h = _components(work)
    if len(c) < 20:
        return []
    lines = _merge_collinear(_lines(c, s, h))
    bands = []
    for grp in _candidates(lines):
        first, last = grp[0], grp[-1]
        hh = float(np.median([g.height for g in grp]))
        mx, my = 3.5 * hh, 0.9 * hh
        t0 = min(g.t0 for g in grp) - mx
        t1 = max(g.t1 for g in grp) + mx
        quad = np.array(
            [
                _point(first, t0, -0.5 * first.height - my),
                _point(first, t1, -0.5 * first.height - my),
                _point(last, t1, 0.5 * last.height + my),
                _point(last, t0, 0.5 * last.height + my),
            ]
        )
        k = RECT_CHAR_H / hh
        width = int(np.linalg.norm(quad[1] - quad[0]) * k)
        height = int(np.linalg.norm(quad[3] - quad[0]) * k)
        if width < 50 or height < 20 or width > 6000:
            continue
        dst = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32)
        m = cv2.getPerspectiveTransform(quad.astype(np.float32), dst)
        src = cv2.warpPerspective(
            gray,
            m @ np.diag([scale, scale, 1.0]),
            (width, height),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )
        bands.append(Band(src, len(grp), quad / scale))
    return bands
