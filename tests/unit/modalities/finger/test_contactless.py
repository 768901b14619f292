"""Contactless finger photos: a SYNTHETIC rendering of an FVC print matches its contact mate."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from fortify.errors import FortifyError
from fortify.eval.contactless_synth import render
from fortify.modalities.base import AcquireOptions
from fortify.modalities.finger import contactless
from fortify.modalities.finger.engine import FingerModality

from .conftest import fvc


def _contact(finger: FingerModality, name: str) -> object:
    return finger.acquire(fvc(name).read_bytes(), AcquireOptions()).template


def test_synthetic_photo_matches_its_contact_mate(finger: FingerModality) -> None:
    gray = np.asarray(cv2.imread(str(fvc("103_2.png")), cv2.IMREAD_GRAYSCALE), np.uint8)
    photo = render(gray, np.random.default_rng(7))
    assert photo.meta["synthetic"] is True
    assert contactless.is_colour_photo(photo.rgb)
    acq = finger.acquire(photo.jpeg, AcquireOptions())
    assert acq.quality["minutiae"] >= finger.fs.min_minutiae
    info = acq.quality["contactless"]
    assert info["inverted"] is True  # rendered crests are bright, as a camera sees them
    assert 0.5 < info["scale"] < 1.5
    mate = finger.compare(acq.template, _contact(finger, "103_1.png"))  # type: ignore[arg-type]
    others = [
        finger.compare(acq.template, _contact(finger, n))  # type: ignore[arg-type]
        for n in ("101_1.png", "102_1.png")
    ]
    assert mate > max(others)


def test_grey_print_is_not_treated_as_a_photo() -> None:
    gray = np.asarray(cv2.imread(str(fvc("101_1.png")), cv2.IMREAD_GRAYSCALE), np.uint8)
    assert not contactless.is_colour_photo(np.repeat(gray[:, :, None], 3, axis=2))


def test_face_photo_as_contactless_finger_is_no_finger(finger: FingerModality) -> None:
    from tests.conftest import celeba_identities

    photo = celeba_identities(1)[0][1][0]
    with pytest.raises(FortifyError) as exc:
        finger.acquire(photo.read_bytes(), AcquireOptions())
    assert exc.value.code == "no_finger"


@pytest.mark.parametrize("colour", [(40, 90, 160), (200, 150, 125)])
def test_plain_colour_image_is_no_finger(
    finger: FingerModality, colour: tuple[int, int, int]
) -> None:
    img = np.zeros((400, 300, 3), np.uint8)
    img[:] = colour
    data = bytes(cv2.imencode(".png", img)[1])
    with pytest.raises(FortifyError) as exc:
        finger.acquire(data, AcquireOptions())
    assert exc.value.code in ("no_finger", "quality_too_low")
