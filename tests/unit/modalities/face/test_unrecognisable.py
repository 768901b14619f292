"""Captures with no recognisable face: refused (``face_unrecognizable``), never a template
that matches every other such capture; a face on its side is found again by turning."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from fortify.config import Settings
from fortify.errors import QualityTooLow
from fortify.imaging import load_image
from fortify.modalities.face.edgeface import NULL_MAX, EdgeFaceExtractor
from fortify.modalities.face.engine import Engine
from tests.conftest import CELEBA, celeba_identities


@pytest.fixture(scope="module")
def eng(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return Engine(Settings(home=tmp_path_factory.mktemp("home"))).prepare()


def _photo(name: str) -> np.ndarray:  # type: ignore[type-arg]
    path = CELEBA / name
    if not path.is_file():
        pytest.skip(f"evaluation photo not found: {path}")
    return load_image(path)


def test_null_template_is_a_featureless_crops_and_faces_are_far_from_it(eng: Engine) -> None:
    ex = eng.extractor
    assert isinstance(ex, EdgeFaceExtractor) and ex.null_max == NULL_MAX
    flat = np.full((112, 112, 3), 90, np.uint8)  # another featureless crop
    assert float(ex.unit_vectors(flat)[0] @ ex.null_vector) > 0.8
    for _, paths in celeba_identities(3):
        t = eng.process(load_image(paths[0]), face="largest").template
        sim = eng.null_similarity(t)
        assert sim is not None and sim < NULL_MAX - 0.1


def test_a_crop_without_a_face_is_refused_not_templated(eng: Engine) -> None:
    # one detection, whose points put the crop on hair and background in every turn
    img = _photo("7444/036697.jpg")
    with pytest.raises(QualityTooLow) as err:
        eng.process(img, face="largest")
    assert err.value.code == "quality_too_low"
    assert err.value.details["warnings"] == ["face_unrecognizable"]
    assert err.value.details["quality"]["null_similarity"] > NULL_MAX


def test_the_largest_box_gives_way_to_the_largest_usable_face(eng: Engine) -> None:
    img = _photo("7355/080118.jpg")  # the largest box holds a hat and the background
    dets = eng.detect(img)
    assert len(dets) == 2
    big = max(range(2), key=lambda i: dets[i].bbox.area)
    with pytest.raises(QualityTooLow):  # picked by index: refused, never swapped
        eng.process(img, face=big)
    r = eng.process(img, face="largest")
    assert r.detection.bbox == dets[1 - big].bbox and r.faces_found == 2
    sim = eng.null_similarity(r.template)
    assert sim is not None and sim < NULL_MAX


def test_a_face_on_its_side_is_found_again_in_a_turned_copy(eng: Engine) -> None:
    img = _photo("7312/080026.jpg")  # a woman lying upside down
    r = eng.process(img, face="largest")
    sim = eng.null_similarity(r.template)
    assert sim is not None and sim < NULL_MAX
    assert r.detection.chip is None  # the landmarks came from a turned copy
    # the same photo turned upright by hand gives (nearly) the same template
    upright = np.ascontiguousarray(np.rot90(img, 1))
    u = eng.process(upright, face="largest").template
    assert float(u.vector @ r.template.vector) > 0.8


def test_a_photo_taken_sideways_is_turned_upright(eng: Engine) -> None:
    img = load_image(celeba_identities(1)[0][1][1])
    upright = eng.process(img, face="largest").template
    for k in (1, 3):
        sideways = np.ascontiguousarray(np.rot90(img, k))
        t = eng.process(sideways, face="largest").template
        assert float(t.vector @ upright.vector) > 0.9


def test_legacy_models_have_no_null_template(tmp_path: Path) -> None:
    eng = Engine(Settings(home=tmp_path, face_model="dlib-resnet-v1")).prepare()
    img = load_image(celeba_identities(1)[0][1][0])
    r = eng.process(img, face="largest")
    assert eng.null_similarity(r.template) is None
