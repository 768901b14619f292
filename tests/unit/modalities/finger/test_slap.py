"""Four-finger slaps: segmentation into fingertips, positions by hand, refusals."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from fortify.errors import InvalidInput, NoFingerFound
from fortify.modalities.base import AcquireOptions, finger_name, finger_position
from fortify.modalities.finger import slap
from fortify.modalities.finger.engine import FingerModality
from tests.conftest import CELEBA, blank_image, side_by_side
from tests.unit.modalities.finger.conftest import fvc

MAX_PIXELS = 50_000_000
MATES = ("101", "102", "103", "104")


def _png(a: np.ndarray) -> bytes:  # type: ignore[type-arg]
    ok, buf = cv2.imencode(".png", a)
    assert ok
    return bytes(buf)


@pytest.fixture(scope="module")
def four() -> bytes:
    return _png(side_by_side([fvc(f"{n}_2.png") for n in MATES]))


def test_slap_position_names() -> None:
    assert finger_position("right-four") == 13 and finger_position("left_four") == 14
    assert finger_position("14") == 14 and finger_name(13) == "right-four"
    with pytest.raises(InvalidInput):
        finger_position(12)


def test_four_prints_side_by_side_give_four_fingertips_in_order(four: bytes) -> None:
    tips = slap.fingertips(four, 13, MAX_PIXELS)
    assert [t.finger_position for t in tips] == [2, 3, 4, 5]  # right: index..little
    xs = [t.box[0] for t in tips]
    assert xs == sorted(xs) and not any(t.warnings for t in tips)
    for t in tips:  # each fingertip is one whole print (388 x 374), nothing of the next
        w, h = Image.open(io.BytesIO(t.data)).size
        assert 260 <= w <= 420 and h >= 330, (t.finger_position, w, h)
    left = slap.fingertips(four, 14, MAX_PIXELS)
    assert [t.finger_position for t in left] == [7, 8, 9, 10]
    assert [t.box[0] for t in left] == sorted(xs, reverse=True)  # left: little..index


def test_three_fingers_are_given_positions_from_the_index() -> None:
    three = _png(side_by_side([fvc(f"{n}_2.png") for n in MATES[:3]]))
    tips = slap.fingertips(three, 13, MAX_PIXELS)
    assert [t.finger_position for t in tips] == [2, 3, 4]
    assert all("slap_positions_assumed" in t.warnings for t in tips)


def test_hand_mask_splits_above_the_palm() -> None:
    m = np.zeros((200, 200), np.uint8)
    m[120:200, 20:180] = 1  # the palm
    for x, top in ((25, 30), (65, 10), (105, 20), (145, 50)):  # four fingers apart
        m[top:130, x : x + 30] = 1
    regions = slap.finger_regions(m, slap.PHOTO_ELONGATION)
    assert len(regions) == 4
    assert [int(np.nonzero(r.any(axis=0))[0].min()) for r in regions] == [25, 65, 105, 145]
    closed = np.zeros_like(m)
    closed[20:200, 30:170] = 1  # fingers held together: one blob, no two apart
    assert slap.finger_regions(closed) == []
    assert slap.finger_regions(np.zeros_like(m)) == []


def test_blank_or_face_is_no_finger() -> None:
    with pytest.raises(NoFingerFound) as exc:
        slap.fingertips(blank_image(), 13, MAX_PIXELS)
    assert exc.value.code == "no_finger"
    faces = sorted(CELEBA.glob("*/*.jpg"))[:5]
    if not faces:
        pytest.skip("face data not found")
    for face in faces:  # one skin region, or specks: not fingers apart
        with pytest.raises(NoFingerFound):
            slap.fingertips(face.read_bytes(), 14, MAX_PIXELS)


def test_face_through_acquisition_is_no_finger(finger: FingerModality) -> None:
    face = sorted(CELEBA.glob("*/*.jpg"))[:1]
    if not face:
        pytest.skip("face data not found")
    with pytest.raises(NoFingerFound) as exc:
        finger.acquire_all(face[0].read_bytes(), AcquireOptions(finger_position=13))
    assert exc.value.code == "no_finger"


def test_acquire_all_gives_one_finger_capture_each(four: bytes, finger: FingerModality) -> None:
    acq = finger.acquire_all(four, AcquireOptions(finger_position=13))
    assert [a.template.finger_position for a in acq] == [2, 3, 4, 5]
    assert all(a.quality["slap"]["fingers_found"] == 4 for a in acq)
    mate = finger.acquire(fvc("101_1.png").read_bytes(), AcquireOptions(finger_position=2))
    scores = [finger.compare(a.template, mate.template) for a in acq]
    assert scores[0] == max(scores) and scores[0] > 2 * max(scores[1:]), scores
    with pytest.raises(InvalidInput):  # a slap is searched finger by finger, not enrolled
        finger.acquire(four, AcquireOptions(finger_position=13))
    one = finger.acquire_all(fvc("101_2.png").read_bytes(), AcquireOptions(finger_position=2))
    assert len(one) == 1
