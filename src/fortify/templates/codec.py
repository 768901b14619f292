"""Binary template format.

Layout (little-endian), version 2::

    magic   4 bytes  b"FTPL"
    version u8       format version (2; version 1 is still read)
    dtype   u8       0 = float32
    dim     u16
    id_len  u8, model_id (utf-8)
    ver_len u8, model_version (utf-8)
    dig_len u8, model_digest (utf-8, hex)
    mod_len u8, modality (utf-8)               -- version 2
    finger  u8       ISO finger position 0-10  -- version 2
    pay_len u32, payload (modality data)       -- version 2
    vector  dim * 4 bytes

Version 1 has no modality, finger or payload fields: it decodes as a face template.
"""

from __future__ import annotations

import struct

import numpy as np

from fortify.errors import TemplateVersionMismatch
from fortify.types import Template

MAGIC = b"FTPL"
FORMAT_VERSION = 2
READABLE = (1, 2)


def _short(s: str) -> bytes:
    b = s.encode("utf-8")
    if len(b) > 255:
        raise ValueError("template header field longer than 255 bytes")
    return bytes([len(b)]) + b


def encode(t: Template) -> bytes:
    head = MAGIC + struct.pack("<BBH", FORMAT_VERSION, 0, t.dim)
    head += _short(t.model_id) + _short(t.model_version) + _short(t.model_digest)
    head += _short(t.modality) + struct.pack("<BI", t.finger_position, len(t.payload))
    return head + t.payload + t.vector.astype("<f4").tobytes()


def decode(data: bytes) -> Template:
    if len(data) < 8 or data[:4] != MAGIC:
        raise TemplateVersionMismatch("not a Fortify template")
    version, dtype, dim = struct.unpack_from("<BBH", data, 4)
    if version not in READABLE or dtype != 0:
        raise TemplateVersionMismatch(
            f"unsupported template format {version}/{dtype}", format_version=version
        )
    pos = 8
    fields: list[str] = []
    try:
        for _ in range(3 if version == 1 else 4):
            n = data[pos]
            fields.append(data[pos + 1 : pos + 1 + n].decode("utf-8"))
            pos += 1 + n
        finger, payload = 0, b""
        if version >= 2:
            finger, n = struct.unpack_from("<BI", data, pos)
            pos += 5
            payload = bytes(data[pos : pos + n])
            pos += n
    except (IndexError, struct.error, UnicodeDecodeError) as exc:
        raise TemplateVersionMismatch("truncated template header") from exc
    if len(data) - pos != dim * 4:
        raise TemplateVersionMismatch("template length does not match its header")
    vec = np.frombuffer(data, dtype="<f4", count=dim, offset=pos).astype(np.float32)
    return Template(
        vector=vec,
        model_id=fields[0],
        model_version=fields[1],
        model_digest=fields[2],
        modality=fields[3] if version >= 2 else "face",
        finger_position=finger,
        payload=payload,
    )
