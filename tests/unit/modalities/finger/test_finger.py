"""The finger modality on real prints: templates, 1:1 scores, and bad input."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from fortify.errors import FortifyError, InvalidImage
from fortify.modalities.base import AcquireOptions, finger_name, finger_position
from fortify.modalities.finger import iso19794
from fortify.modalities.finger.engine import FingerModality
from fortify.types import Template
from tests.unit.modalities.finger.conftest import FINGERS, fvc


def test_template_and_scores(finger: FingerModality) -> None:
    a = finger.acquire(fvc("101_1.png").read_bytes(), AcquireOptions(finger_position=2))
    b = finger.acquire(fvc("101_2.png").read_bytes(), AcquireOptions())
    c = finger.acquire(fvc("102_1.png").read_bytes(), AcquireOptions())
    assert a.template.modality == "finger" and a.template.finger_position == 2
    assert a.quality["minutiae"] >= 12 and a.quality["nfiq2"] is None  # a probe: no NFIQ 2
    enrol = finger.acquire(fvc("101_3.png").read_bytes(), AcquireOptions(strict_quality=True))
    assert 0 <= enrol.quality["nfiq2"] <= 100  # enrolment computes NFIQ 2
    assert a.template.dim == finger.model_spec()[1]
    back = Template.from_bytes(a.template.to_bytes())
    own = finger.compare(a.template, a.template)
    assert finger.compare(a.template, back) == pytest.approx(own)
    # LSS-R's self score is high where a print has enough minutiae (101_1 has ~23
    # inside its mask after enhancement, too few neighbours for some cylinders)
    assert finger.compare(c.template, c.template) > 0.9
    assert finger.compare(a.template, b.template) > 2 * finger.compare(a.template, c.template)
    # the ISO payload is a standard record, readable again as a probe
    again = finger.acquire(a.template.payload, AcquireOptions())
    assert again.template.finger_position == 2
    assert finger.compare(again.template, a.template) > 0.9 * own


def test_wsq_is_decoded(finger: FingerModality) -> None:
    path = FINGERS / "sourceafis" / "wsq-original.wsq"
    if not path.exists():
        pytest.skip("no WSQ sample")
    a = finger.acquire(path.read_bytes(), AcquireOptions())
    assert a.quality["minutiae"] > 20


def _png(img: np.ndarray) -> bytes:
    return bytes(cv2.imencode(".png", img)[1])


@pytest.mark.parametrize("name", ["blank", "noise", "gradient"])
def test_not_a_finger(finger: FingerModality, name: str) -> None:
    rng = np.random.default_rng(0)
    img = {
        "blank": np.full((300, 300), 255, np.uint8),
        "noise": rng.integers(0, 255, (300, 300)).astype(np.uint8),
        "gradient": np.tile(np.linspace(0, 255, 300).astype(np.uint8), (300, 1)),
    }[name]
    with pytest.raises(FortifyError) as exc:
        finger.acquire(_png(img), AcquireOptions())
    assert exc.value.code in ("no_finger", "quality_too_low")


def test_face_photo_is_not_a_finger(finger: FingerModality) -> None:
    from tests.conftest import celeba_identities

    photo = celeba_identities(1)[0][1][0]
    with pytest.raises(FortifyError) as exc:
        finger.acquire(photo.read_bytes(), AcquireOptions())
    assert exc.value.code in ("no_finger", "quality_too_low")


def test_corrupt_inputs(finger: FingerModality) -> None:
    with pytest.raises(InvalidImage):
        finger.acquire(b"\xff\xa0\xff\xa8" + b"\x00" * 64, AcquireOptions())
    with pytest.raises(iso19794.InvalidTemplate):
        finger.acquire(b"FMR\x00 20\x00" + b"\x00" * 8, AcquireOptions())
    with pytest.raises(InvalidImage):
        finger.acquire(b"not an image at all", AcquireOptions())


def test_finger_positions() -> None:
    assert finger_position("right-index") == 2 and finger_position("Left Little") == 10
    assert (
        finger_position(None) == 0 and finger_position("7") == 7 and finger_name(2) == "right-index"
    )
    with pytest.raises(FortifyError):
        finger_position("right-toe")
    with pytest.raises(FortifyError):
        finger_position(11)
