from __future__ import annotations

import numpy as np
import pytest

from fortify.errors import TemplateVersionMismatch
from fortify.types import Template


def _t() -> Template:
    v = np.random.default_rng(1).normal(size=128).astype(np.float32)
    return Template(
        vector=v / np.linalg.norm(v), model_id="m", model_version="1", model_digest="ab"
    )


def test_round_trip() -> None:
    t = _t()
    back = Template.from_bytes(t.to_bytes())
    assert back.model_id == "m" and back.model_version == "1" and back.model_digest == "ab"
    np.testing.assert_array_equal(back.vector, t.vector)


def test_immutable() -> None:
    with pytest.raises(ValueError):
        _t().vector[0] = 1.0


@pytest.mark.parametrize("data", [b"", b"XXXX\x01\x00\x80\x00", b"FTPL\x09\x00\x80\x00"])
def test_rejects_bad_headers(data: bytes) -> None:
    with pytest.raises(TemplateVersionMismatch):
        Template.from_bytes(data)


def test_rejects_wrong_length() -> None:
    with pytest.raises(TemplateVersionMismatch):
        Template.from_bytes(_t().to_bytes()[:-4])


def test_reads_version_1_bytes_as_face() -> None:
    import struct

    v = np.arange(4, dtype="<f4")
    old = b"FTPL" + struct.pack("<BBH", 1, 0, 4) + b"\x01m\x011\x02ab" + v.tobytes()
    t = Template.from_bytes(old)
    assert (t.model_id, t.model_version, t.model_digest, t.modality) == ("m", "1", "ab", "face")
    assert t.finger_position == 0 and t.payload == b""
    np.testing.assert_array_equal(t.vector, v)


def test_finger_template_round_trip() -> None:
    t = Template(
        np.ones(8, np.float32), "f", "2", modality="finger", finger_position=7, payload=b"FMR\x00x"
    )
    back = Template.from_bytes(t.to_bytes())
    assert (back.modality, back.finger_position, back.payload) == ("finger", 7, b"FMR\x00x")


def test_rejects_truncated_v2_header() -> None:
    with pytest.raises(TemplateVersionMismatch):
        Template.from_bytes(_t().to_bytes()[:14])
