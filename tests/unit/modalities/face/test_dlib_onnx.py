"""The ONNX conversion of dlib's ResNet: serialization reader and equality with dlib."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fortify.modalities.face import dlib_serial as ds
from fortify.modalities.face.weights import weights_path

ROOT = Path(__file__).resolve().parents[4]
CELEBA = (ROOT / ".." / "shared" / "data" / "faces" / "celeba").resolve()
TOLERANCE = 1e-4
N_FACES = 12


def _int(value: int) -> bytes:
    """dlib's integer encoding, written independently of the reader under test."""
    mag = abs(value)
    body = mag.to_bytes(max(1, (mag.bit_length() + 7) // 8), "little")
    return bytes([len(body) | (0x80 if value < 0 else 0)]) + body


# --- the reader, on hand-made bytes ----------------------------------------------------


def test_integers_round_trip() -> None:
    values = [0, 1, 2, 21, 255, 256, -1, -28, 0xA3D70A, -(2**40), 2**63 - 1]
    r = ds.Reader(b"".join(_int(v) for v in values))
    assert [r.integer() for _ in values] == values
    assert r.remaining == 0


def test_float_details() -> None:
    # dlib writes 0.04f as mantissa 0xa3d70a, exponent -28 (seen in the model file)
    r = ds.Reader(_int(0xA3D70A) + _int(-28) + _int(-3) + _int(0) + _int(0) + _int(32000))
    assert r.real() == pytest.approx(0.04, rel=1e-7)
    assert r.real() == -3.0
    assert r.real() == math.inf


def test_strings_bools_and_tensors() -> None:
    values = np.arange(6, dtype="<f4") - 2.5
    tensor_v2 = _int(2) + b"".join(_int(n) for n in (1, 2, 3, 1)) + values.tobytes()
    tensor_v1 = _int(1) + b"".join(_int(n) for n in (1, 1, 1, 1)) + _int(3) + _int(-1)
    r = ds.Reader(_int(5) + b"relu_" + b"10" + tensor_v2 + tensor_v1)
    assert r.string() == "relu_"
    assert (r.boolean(), r.boolean()) == (True, False)
    np.testing.assert_array_equal(r.tensor(), values.reshape(1, 2, 3, 1))
    np.testing.assert_array_equal(r.tensor(), np.full((1, 1, 1, 1), 1.5, np.float32))
    with pytest.raises(ds.DlibFormatError):
        r.integer()


def test_unknown_layer_is_rejected() -> None:
    with pytest.raises(ds.DlibFormatError, match="unsupported dlib layer"):
        ds.read_details(ds.Reader(_int(7) + b"sig_xyz"))


# --- the real weights file -------------------------------------------------------------


def test_real_file_parses_to_the_resnet() -> None:
    from fortify.modalities.face.dlib_onnx import read_dlib_net

    net = read_dlib_net(weights_path("resnet").read_bytes())
    kinds = [type(d).__name__ for _, d in net.layers if d is not None]
    assert kinds.count("Conv") == 29 and kinds.count("Affine") == 29
    assert net.input.nr == net.input.nc == 150
    assert net.input.avg == pytest.approx((122.782, 117.001, 104.298), abs=1e-3)
    fc = net.layers[-1][1]
    assert isinstance(fc, ds.Fc) and fc.weight.shape == (256, 128) and fc.bias is None


def _chips(n: int) -> list[np.ndarray[Any, Any]]:
    """Aligned 150x150 chips of the first face in the first image of ``n`` identities."""
    import cv2
    import dlib

    if not CELEBA.is_dir():
        pytest.skip(f"evaluation data not found at {CELEBA}")
    detector = dlib.get_frontal_face_detector()
    shapes = dlib.shape_predictor(str(weights_path("landmarks5")))
    chips = []
    for folder in sorted(p for p in CELEBA.iterdir() if p.is_dir()):
        for f in sorted(folder.glob("*.jpg"))[:1]:
            bgr = cv2.imread(str(f))
            if bgr is None:
                continue
            img = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            rects = detector(img, 1)
            if rects:
                chip = dlib.get_face_chip(img, shapes(img, rects[0]), size=150, padding=0.25)
                chips.append(np.asarray(chip))
        if len(chips) == n:
            break
    return chips


@pytest.mark.slow
def test_onnx_descriptors_equal_dlib(tmp_path: Path) -> None:
    import dlib

    from fortify.modalities.face.dlib_backend import DlibResNetExtractor
    from fortify.modalities.face.dlib_onnx import OnnxDlibExtractor, convert_dlib_resnet

    onnx_file = convert_dlib_resnet(weights_path("resnet"), tmp_path / "direct.onnx")
    assert onnx_file.stat().st_size > 20_000_000
    chips = _chips(N_FACES)
    assert len(chips) >= 10
    dlib_net = dlib.face_recognition_model_v1(str(weights_path("resnet")))
    reference = DlibResNetExtractor()
    fast = OnnxDlibExtractor(tmp_path / "cache")
    worst = 0.0
    for chip in chips:
        want = np.asarray(dlib_net.compute_face_descriptor(chip), dtype=np.float64)
        got = fast.descriptors(chip)[0].astype(np.float64)
        assert got.shape == (128,)
        worst = max(worst, float(np.abs(got - want).max()))
        a, b = reference.extract_chip(chip), fast.extract_chip(chip)
        assert (a.model_id, a.model_version, a.model_digest) == (
            b.model_id,
            b.model_version,
            b.model_digest,
        )
        assert float(np.linalg.norm(b.vector)) == pytest.approx(1.0, abs=1e-5)
        np.testing.assert_allclose(a.vector, b.vector, atol=TOLERANCE)
    assert worst <= TOLERANCE, f"max |onnx - dlib| = {worst:.3g}"
    batch = fast.descriptors(np.stack(chips))
    assert batch.shape == (len(chips), 128)
    np.testing.assert_allclose(batch[0], fast.descriptors(chips[0])[0], atol=1e-5)
    pair = fast.unit_vectors(np.stack([chips[0], chips[0][:, ::-1]]))  # the fused flip pair
    assert pair.shape == (2, 128)
    np.testing.assert_allclose(pair[0], fast.extract_chip(chips[0]).vector, atol=1e-6)
    mirror = np.ascontiguousarray(chips[0][:, ::-1])
    np.testing.assert_allclose(pair[1], fast.extract_chip(mirror).vector, atol=1e-6)


@pytest.mark.slow
def test_conversion_is_deterministic_and_cached(tmp_path: Path) -> None:
    from fortify.modalities.face.dlib_onnx import OnnxDlibExtractor, convert_dlib_resnet

    a = convert_dlib_resnet(weights_path("resnet"), tmp_path / "a.onnx").read_bytes()
    b = convert_dlib_resnet(weights_path("resnet"), tmp_path / "b.onnx").read_bytes()
    assert a == b
    first = OnnxDlibExtractor(tmp_path / "cache")
    mtime = first.onnx_path.stat().st_mtime_ns
    second = OnnxDlibExtractor(tmp_path / "cache", intra_op_num_threads=2)
    assert second.onnx_path == first.onnx_path
    assert second.onnx_path.stat().st_mtime_ns == mtime
    assert first.model_digest in first.onnx_path.name
    assert list((tmp_path / "cache").iterdir()) == [first.onnx_path]
    with pytest.raises(ValueError, match="150x150"):
        first.extract_chip(np.zeros((112, 112, 3), np.uint8))
