"""ISO/IEC 19794-2:2005 finger minutiae records: read and write.

Record: 24-byte header (``FMR\\0``, `` 20\\0``, length u32, equipment u16, width,
height, x/y resolution in pixels/cm u16, views u8, reserved u8), then per view:
finger position, view/impression, quality, minutiae count, 6 bytes per minutia
(type:2 x:14, reserved:2 y:14, angle in 360/256 degree units, quality), and an
extended-data length (u16). All big-endian. Only the first view is read.
ISO angles turn counter-clockwise as seen (y up); ours turn in image axes (y
down), so the sign flips on the way in and out.
"""

from __future__ import annotations

import math
import struct

from fortify.errors import InvalidInput
from fortify.modalities.finger.minutiae import Minutiae

MAGIC = b"FMR\x00"
VERSION = b" 20\x00"
_KIND_TO_ISO = {1: 1, 2: 2, 0: 0}  # ending = 01, bifurcation = 10, other = 00


class InvalidTemplate(InvalidInput):
    """A finger template (ISO/IEC 19794-2) that cannot be read."""

    code = "invalid_template"


def is_iso(data: bytes) -> bool:
    return data[:4] == MAGIC


def write(m: Minutiae, finger_position: int = 0, quality: int = 0) -> bytes:
    """One-view record; resolution stored as pixels per cm (500 ppi = 197)."""
    res = round(m.ppi / 2.54)
    body = struct.pack(">BBBB", finger_position, 0, max(0, min(100, quality)), len(m))
    for x, y, a, k, q in zip(m.x, m.y, m.angle, m.kind, m.quality, strict=True):
        units = round(-float(a) * 128 / math.pi) % 256  # ISO: counter-clockwise, y up
        xi = max(0, min(0x3FFF, round(float(x))))
        yi = max(0, min(0x3FFF, round(float(y))))
        body += struct.pack(
            ">HHBB", (_KIND_TO_ISO.get(int(k), 0) << 14) | xi, yi, units, min(100, int(q))
        )
    body += struct.pack(">H", 0)
    length = 24 + len(body)
    head = MAGIC + VERSION + struct.pack(">IHHHHHBB", length, 0, m.width, m.height, res, res, 1, 0)
    return head + body


def read(data: bytes) -> tuple[Minutiae, int, int]:
    """(minutiae, finger position, finger quality) of the first view of a record."""
    if len(data) < 24 or data[:4] != MAGIC:
        raise InvalidTemplate("not an ISO/IEC 19794-2 finger minutiae record")
    if data[4:8] != VERSION:
        raise InvalidTemplate(
            f"unsupported ISO/IEC 19794-2 version {data[4:8]!r} (2005 ' 20' is read)"
        )
    try:
        length, _eq, width, height, xres, _yres, views, _r = struct.unpack_from(
            ">IHHHHHBB", data, 8
        )
        # some writers leave the view count at 0 although a view follows: read it anyway
        if length > len(data) or len(data) < 30 or (views < 1 and length < 30):
            raise InvalidTemplate("ISO/IEC 19794-2 record is truncated or has no finger view")
        pos, n = 24, 0
        finger, _view, fq, n = struct.unpack_from(">BBBB", data, pos)
        pos += 4
        if pos + 6 * n > len(data):
            raise InvalidTemplate("ISO/IEC 19794-2 record is shorter than its minutiae count")
        xs, ys, angs, kinds, qs = [], [], [], [], []
        for _ in range(n):
            tx, ry, a, q = struct.unpack_from(">HHBB", data, pos)
            pos += 6
            kinds.append({1: 1, 2: 2}.get(tx >> 14, 0))
            xs.append(float(tx & 0x3FFF))
            ys.append(float(ry & 0x3FFF))
            angs.append(-a * math.pi / 128)
            qs.append(min(100, q))
    except struct.error as exc:
        raise InvalidTemplate("ISO/IEC 19794-2 record is truncated") from exc
    if finger > 10:
        raise InvalidTemplate(f"ISO/IEC 19794-2 finger position {finger} is not 0-10")
    ppi = round(xres * 2.54) if xres else 500
    return Minutiae.of(xs, ys, angs, kinds, qs, width, height, ppi), finger, fq
