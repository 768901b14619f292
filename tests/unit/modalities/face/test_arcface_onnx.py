"""Loading an operator's ArcFace-style ONNX model; 5-point alignment."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from fortify.errors import ModelUnavailable  # noqa: E402
from fortify.modalities.face import arcface_onnx as af  # noqa: E402
from fortify.types import BBox, Detection, Quality  # noqa: E402

ROOT = Path(__file__).resolve().parents[4]
CELEBA = (ROOT / ".." / "shared" / "data" / "faces" / "celeba").resolve()
RNG = np.random.default_rng(3)
CONV_W = RNG.normal(size=(8, 3, 3, 3)).astype(np.float32)
GEMM_W = RNG.normal(size=(64, 8)).astype(np.float32)


def build_model(path: Path, *, nhwc: bool = False, pool_only: bool = False) -> Path:
    """conv + relu + global pool + gemm -> 64-d (or just the pooled input, 3-d)."""
    dims: list[str | int | None] = ["N", 112, 112, 3] if nhwc else ["N", 3, 112, 112]
    nodes, inits = [], []
    x = "input"
    if nhwc:
        nodes.append(helper.make_node("Transpose", [x], ["nchw"], perm=[0, 3, 1, 2]))
        x = "nchw"
    if pool_only:
        nodes += [
            helper.make_node("GlobalAveragePool", [x], ["pooled"]),
            helper.make_node("Flatten", ["pooled"], ["embedding"]),
        ]
        out_dim = 3
    else:
        inits = [numpy_helper.from_array(CONV_W, "w"), numpy_helper.from_array(GEMM_W, "g")]
        nodes += [
            helper.make_node("Conv", [x, "w"], ["c"], kernel_shape=[3, 3], strides=[2, 2]),
            helper.make_node("Relu", ["c"], ["r"]),
            helper.make_node("GlobalAveragePool", ["r"], ["p"]),
            helper.make_node("Flatten", ["p"], ["f"]),
            helper.make_node("Gemm", ["f", "g"], ["embedding"], transB=1),
        ]
        out_dim = 64
    graph = helper.make_graph(
        nodes,
        "tiny-arcface",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, dims)],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", out_dim])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.checker.check_model(model)
    path.write_bytes(model.SerializeToString())
    return path


def face(points: np.ndarray[Any, Any] | None = None) -> tuple[Any, Detection]:
    """A random image and a detection whose dlib 5 points sit where a face's would."""
    image = RNG.integers(0, 256, size=(200, 180, 3), dtype=np.uint8)
    if points is None:  # dlib order: image-right eye outer, inner; image-left outer, inner; nose
        points = np.array([[120, 80], [104, 81], [62, 80], [78, 81], [91, 112]], float)
    det = Detection(
        bbox=BBox(50, 50, 90, 100),
        confidence=1.0,
        landmarks=tuple((float(x), float(y)) for x, y in points),
        quality=Quality(face_px=90, sharpness=50.0, brightness=120.0),
    )
    return image, det


def test_similarity_transform_recovers_a_known_one() -> None:
    angle, scale, shift = 0.3, 1.7, np.array([12.0, -5.0])
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    src = RNG.normal(size=(5, 2)) * 30
    dst = src @ (scale * rot).T + shift
    m = af.similarity_transform(src, dst)
    np.testing.assert_allclose(m, np.hstack([scale * rot, shift[:, None]]), atol=1e-9)
    with pytest.raises(ValueError):
        af.similarity_transform(src[:1], dst[:1])


def test_align_puts_the_points_on_the_template() -> None:
    image = np.zeros((300, 300, 3), np.uint8)
    m = af.similarity_transform(af.ARCFACE_TEMPLATE_112, af.ARCFACE_TEMPLATE_112 * 2 + 40)
    pts = af.ARCFACE_TEMPLATE_112 @ m[:, :2].T + m[:, 2]
    x, y = np.round(pts[0]).astype(int)
    image[y - 1 : y + 2, x - 1 : x + 2] = 255  # a bright dot on the image-left eye
    crop = af.align(image, pts, af.ARCFACE_TEMPLATE_112, 112)
    assert crop.shape == (112, 112, 3) and crop.dtype == np.uint8
    ys, xs = np.nonzero(crop[..., 0] > 100)
    assert abs(xs.mean() - 38.29) < 1.0 and abs(ys.mean() - 51.70) < 1.0


def test_five_point_mode_uses_eye_corner_midpoints_and_nose() -> None:
    image, det = face()
    pts = af.FacePoints("5")(image, det)
    np.testing.assert_allclose(pts, np.array([[70, 80.5], [112, 80.5], [91, 112]]))
    with pytest.raises(ValueError):
        af.FacePoints("7")  # type: ignore[arg-type]


@pytest.mark.parametrize("nhwc", [False, True])
def test_loads_a_model_and_makes_unit_templates(tmp_path: Path, nhwc: bool) -> None:
    path = build_model(tmp_path / "tiny.onnx", nhwc=nhwc)
    ext = af.ArcFaceOnnxExtractor(path, landmarks="5")
    assert (ext.dim, ext.size, ext.nchw) == (64, 112, not nhwc)
    assert ext.model_id == "onnx-tiny"
    assert ext.model_digest == hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    image, det = face()
    t1, t2 = ext.extract(image, det), ext.extract(image, det)
    assert t1.vector.dtype == np.float32 and t1.dim == 64
    assert abs(float(np.linalg.norm(t1.vector)) - 1.0) < 1e-5
    np.testing.assert_array_equal(t1.vector, t2.vector)  # deterministic
    assert (t1.model_id, t1.model_version) == (ext.model_id, ext.model_version)


def test_nchw_and_nhwc_models_agree(tmp_path: Path) -> None:
    a = af.ArcFaceOnnxExtractor(build_model(tmp_path / "a.onnx"), landmarks="5")
    b = af.ArcFaceOnnxExtractor(build_model(tmp_path / "b.onnx", nhwc=True), landmarks="5")
    image, det = face()
    np.testing.assert_allclose(a.extract(image, det).vector, b.extract(image, det).vector,
                               atol=1e-6)  # fmt: skip


def test_input_is_rgb_scaled_minus_127_5_over_128(tmp_path: Path) -> None:
    ext = af.ArcFaceOnnxExtractor(build_model(tmp_path / "p.onnx", pool_only=True), landmarks="5")
    image, det = face()
    crop = ext.crop(image, det)
    want = ((crop.astype(np.float64) - 127.5) / 128).mean(axis=(0, 1))  # R, G, B
    np.testing.assert_allclose(ext.extract(image, det).vector, want / np.linalg.norm(want),
                               atol=1e-5)  # fmt: skip
    chip = ext.extract_chip(crop)
    np.testing.assert_allclose(chip.vector, ext.extract(image, det).vector, atol=1e-6)


def test_missing_model_file(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable):
        af.ArcFaceOnnxExtractor(tmp_path / "absent.onnx")


@pytest.mark.slow
@pytest.mark.skipif(not CELEBA.is_dir(), reason="CelebA sample absent")
def test_68_point_alignment_on_a_real_face(tmp_path: Path) -> None:
    from fortify.imaging import load_image
    from fortify.modalities.face.dlib_backend import DlibFaceDetector

    image = load_image(sorted(CELEBA.glob("*/*.jpg"))[0])
    det = max(DlibFaceDetector().detect(image), key=lambda d: d.bbox.area)
    ext = af.ArcFaceOnnxExtractor(build_model(tmp_path / "t.onnx"))  # landmarks="68"
    pts68 = ext.points(image, det)
    pts5 = af.FacePoints("5")(image, det)
    assert pts68.shape == (5, 2)
    # both ways put the eyes within a few pixels of each other
    assert np.abs(pts68[:2] - pts5[:2]).max() < 0.1 * det.bbox.w
    assert abs(float(np.linalg.norm(ext.extract(image, det).vector)) - 1.0) < 1e-5
