from __future__ import annotations

import math

import numpy as np
import pytest

from fortify.modalities.finger import iso19794
from fortify.modalities.finger.minutiae import Minutiae
from tests.unit.modalities.finger.conftest import fvc


def test_round_trip() -> None:
    m = Minutiae.of([10, 200], [30, 400], [0.5, 4.0], [1, 2], [80, 40], width=300, height=500)
    data = iso19794.write(m, finger_position=2, quality=60)
    assert data[:8] == b"FMR\x00 20\x00" and len(data) == 24 + 4 + 12 + 2
    back, finger, q = iso19794.read(data)
    assert (finger, q, back.width, back.height, back.ppi) == (2, 60, 300, 500, 500)
    np.testing.assert_array_equal(back.x, m.x)
    np.testing.assert_array_equal(back.kind, m.kind)
    assert np.all(np.abs(np.angle(np.exp(1j * (back.angle - m.angle)))) < 2 * math.pi / 256)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"NOPE",
        b"FMR\x00 30\x00" + b"\x00" * 30,
        b"FMR\x00 20\x00\x00\x00\x00\x40" + b"\x00" * 20,
    ],
)
def test_corrupt_records_are_clear_errors(data: bytes) -> None:
    with pytest.raises(iso19794.InvalidTemplate):
        iso19794.read(data)


def test_reads_third_party_record() -> None:
    m, finger, _ = iso19794.read(fvc("101_1.iso").read_bytes())
    assert len(m) > 10 and finger == 0 and (m.width, m.height) == (300, 400)
