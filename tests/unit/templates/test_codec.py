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
