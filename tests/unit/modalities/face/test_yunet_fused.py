"""YuNet detector (cascade fallback) and the fused dlib + SFace template."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from fortify.config import Settings
from fortify.imaging import load_image
from fortify.modalities.face import fused
from fortify.modalities.face.engine import Engine
from fortify.modalities.face.yunet import arcface_points_from_dlib5
from tests.conftest import celeba_identities


@pytest.fixture(scope="module")
def eng(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    home = tmp_path_factory.mktemp("home")
    return Engine(Settings(home=home, face_model="fused-dlib-sface-v2")).prepare()


def test_yunet_default_five_points_and_dlib_chip(eng: Engine) -> None:
    img = load_image(celeba_identities(1)[0][1][0])
    [d] = eng.detect(img)
    pts = np.asarray(d.landmarks)
    assert pts.shape == (5, 2) and d.chip is not None and d.chip.shape == (150, 150, 3)
    assert pts[0, 0] < pts[1, 0] and pts[3, 0] < pts[4, 0]  # image-left before image-right
    assert pts[:2, 1].max() < pts[2, 1] < pts[3:, 1].min()  # eyes above nose above mouth
    assert 0.5 < d.confidence <= 1.0 and not d.quality.warnings


def test_cascade_fallback_points(eng: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    img = load_image(celeba_identities(1)[0][1][0])
    yunet_pts = np.asarray(eng.detect(img)[0].landmarks)
    monkeypatch.setattr(eng.detector, "yunet", lambda image: [])  # YuNet finds nothing
    [d] = eng.detect(img)
    pts = np.asarray(d.landmarks)
    eye = np.linalg.norm(yunet_pts[1] - yunet_pts[0])
    assert np.abs(pts[:2] - yunet_pts[:2]).max() < 0.25 * eye  # eyes from dlib's corners
    assert eng.extract(img, d).vector.shape == (256,)


def test_points_from_dlib5_exact_on_template() -> None:
    from fortify.modalities.face.arcface_onnx import ARCFACE_TEMPLATE_112, DLIB5_TEMPLATE_112

    left, right, nose = DLIB5_TEMPLATE_112 * 2 + 10  # a face twice as large, shifted
    dlib5 = np.array([right, right, left, left, nose])  # corners collapsed onto the centres
    got = arcface_points_from_dlib5(dlib5)
    assert np.allclose(got, ARCFACE_TEMPLATE_112 * 2 + 10, atol=1e-6)


def test_fused_score_is_weighted_sum_of_cosines() -> None:
    rng = np.random.default_rng(0)
    d1, d2, s1, s2 = (v / np.linalg.norm(v) for v in rng.normal(size=(4, 128)))
    f1, f2 = fused.fuse(d1, s1), fused.fuse(d2, s2)
    w = fused.DLIB_WEIGHT
    assert abs(float(np.linalg.norm(f1)) - 1) < 1e-6
    assert abs(float(f1 @ f2) - (w * d1 @ d2 + (1 - w) * s1 @ s2)) < 1e-6
    back_d, back_s = fused.split(f1)
    assert np.allclose(back_d, d1, atol=1e-6) and np.allclose(back_s, s1, atol=1e-6)


def test_fused_template_from_both_models(eng: Engine) -> None:
    img = load_image(celeba_identities(1)[0][1][0])
    r = eng.process(img)
    ex = eng.extractor
    assert isinstance(ex, fused.FusedExtractor)
    t = r.template
    assert t.model_id == "fused-dlib-sface-v2" and t.vector.shape == (256,)
    assert t.model_digest == f"{ex.dlib.model_digest}+{ex.sface.model_digest}"
    chip, crop = r.detection.chip, ex.sface.crop(img, r.detection)
    assert chip is not None

    def flipavg(e: object, c: np.ndarray) -> np.ndarray:  # type: ignore[type-arg]
        v = e.extract_chip(c).vector + e.extract_chip(np.ascontiguousarray(c[:, ::-1])).vector  # type: ignore[attr-defined]
        return v / np.linalg.norm(v)  # type: ignore[no-any-return]

    want = fused.fuse(flipavg(ex.dlib, chip), flipavg(ex.sface, crop))
    assert np.allclose(t.vector, want, atol=1e-5)
    assert eng.model_spec() == ("fused-dlib-sface-v2", 256)


def test_model_specs_without_loading(tmp_path: Path) -> None:
    assert Engine(Settings(home=tmp_path, face_model="sface-2021dec")).model_spec() == (
        "sface-2021dec",
        128,
    )
    assert Engine(Settings(home=tmp_path, face_model="dlib-resnet-v1")).model_spec()[1] == 128


def test_v2_aligns_sface_from_both_point_sets_v1_from_yunet(eng: Engine, tmp_path: Path) -> None:
    img = load_image(celeba_identities(1)[0][1][0])
    det, _ = eng.acquire(img, face="largest")
    assert det.dlib_points is not None and len(det.dlib_points) == 5
    # both are the same five points, from two predictors: a few pixels apart
    gap = np.abs(np.asarray(det.dlib_points) - np.asarray(det.landmarks)).max()
    assert 0 < gap < 0.25 * (det.bbox.w)
    ex = eng.extractor
    assert isinstance(ex, fused.FusedExtractor) and ex.sface.points == "mean"
    v1 = Engine(Settings(home=eng.settings.home, face_model="fused-dlib-sface-v1")).prepare()
    t1 = v1.process(img).template
    t2 = eng.process(img).template
    assert t1.model_id == "fused-dlib-sface-v1" and t2.model_id == "fused-dlib-sface-v2"
    assert "align=yunet" in t1.model_version and "align=mean" in t2.model_version
    assert max(len(t1.model_version), len(t2.model_version)) <= 64  # the column's length
    d1, s1 = fused.split(t1.vector)
    d2, s2 = fused.split(t2.vector)
    assert np.allclose(d1, d2, atol=1e-5)  # the dlib part is the same
    assert 0.8 < float(s1 @ s2) < 0.99999  # the SFace part differs: another crop
    with pytest.raises(ValueError, match="needs SFace aligned"):
        fused.FusedExtractor(ex.dlib, ex.sface, model_id="fused-dlib-sface-v1")
