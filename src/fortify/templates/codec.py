"""Binary template format.

Layout (little-endian)::

    magic   4 bytes  b"FTPL"
    version u8       format version (1)
    dtype   u8       0 = float32
    dim     u16
    id_len  u8, model_id (utf-8)
    ver_len u8, model_version (utf-8)
    dig_len u8, model_digest (utf-8, hex)
    vector  dim * 4 bytes
"""

from __future__ import annotations

import struct

import numpy as np

from fortify.errors import TemplateVersionMismatch
from fortify.types import Template

MAGIC = b"FTPL"
FORMAT_VERSION = 1


def _short(s: str) -> bytes:
    b = s.encode("utf-8")
    if len(b) > 255:
        raise ValueError("template header field longer than 255 bytes")
    return bytes([len(b)]) + b


def encode(t: Template) -> bytes:
    head = MAGIC + struct.pack("<BBH", FORMAT_VERSION, 0, t.dim)
    head += _short(t.model_id) + _short(t.model_version) + _short(t.model_digest)
    return head + t.vector.astype("<f4").tobytes()


def decode(data: bytes) -> Template:
    if len(data) < 8 or data[:4] != MAGIC:
        raise TemplateVersionMismatch("not a Fortify template")
    version, dtype, dim = struct.unpack_from("<BBH", data, 4)
    if version != FORMAT_VERSION or dtype != 0:
        raise TemplateVersionMismatch(
            f"unsupported template format {version}/{dtype}", format_version=version
        )
    pos = 8
    fields: list[str] = []
    for _ in range(3):
        n = data[pos]
        fields.append(data[pos + 1 : pos + 1 + n].decode("utf-8"))
        pos += 1 + n
    if len(data) - pos != dim * 4:
        raise TemplateVersionMismatch("template length does not match its header")
    vec = np.frombuffer(data, dtype="<f4", count=dim, offset=pos).astype(np.float32)
    return Template(vector=vec, model_id=fields[0], model_version=fields[1], model_digest=fields[2])
