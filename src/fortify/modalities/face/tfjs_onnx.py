"""Our own converter from TensorFlow.js graph models to ONNX.

A TFJS graph model is a ``model.json`` holding ``modelTopology`` (TensorFlow's ``GraphDef``
as JSON: ``node`` entries with ``name``, ``op``, ``input`` and ``attr``) and a
``weightsManifest``: groups of weight specs (``name``, ``shape``, ``dtype`` and optional
``quantization``) whose bytes lie, in order, in the group's concatenated ``.bin`` shards.
Every ``Const`` node takes its value from the weight of the same name.

This module reads that format (float32/int32/bool weights; uint8, uint16 and float16
quantisation) and builds an equivalent ONNX graph with the ``onnx`` helper API; the op
mapping and the NHWC -> NCHW layout handling live in :mod:`fortify.modalities.face.tfjs_ops`.
The graph keeps TensorFlow's interface: float inputs in NHWC, outputs named after the TF
nodes, and only the nodes the requested outputs depend on.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from fortify.modalities.face.onnx_io import write_atomic
from fortify.modalities.face.tfjs_ops import OPSET, Builder, TfjsFormatError, Val, convert_node

log = logging.getLogger(__name__)

CONVERTER_VERSION = 1
"""Bump when generated graphs change, so cached conversions are rebuilt."""

__all__ = [
    "CONVERTER_VERSION",
    "TfjsFormatError",
    "TfjsModel",
    "TfjsNode",
    "cached_tfjs_onnx",
    "convert_tfjs",
    "read_tfjs_model",
    "read_weights",
    "to_onnx",
]

_PLAIN_DTYPES: dict[str, np.dtype[Any]] = {
    "float32": np.dtype("<f4"),
    "int32": np.dtype("<i4"),
    "bool": np.dtype("u1"),
}
_QUANT_DTYPES: dict[str, np.dtype[Any]] = {
    "uint8": np.dtype("u1"),
    "uint16": np.dtype("<u2"),
    "float16": np.dtype("<f2"),
}


@dataclass(frozen=True)
class TfjsNode:
    """One ``GraphDef`` node: inputs without control dependencies (``^name``)."""

    name: str
    op: str
    inputs: tuple[str, ...]
    attr: Mapping[str, Any]


@dataclass(frozen=True)
class TfjsModel:
    """A parsed graph model: nodes in file order, decoded weights and its files."""

    nodes: tuple[TfjsNode, ...]
    weights: Mapping[str, npt.NDArray[Any]]
    signature_outputs: tuple[str, ...]
    files: tuple[Path, ...]
    generated_by: str = ""

    def node(self, name: str) -> TfjsNode:
        for n in self.nodes:
            if n.name == name:
                return n
        raise TfjsFormatError(f"no node named {name!r}")


def _shard_bytes(base: Path, paths: Sequence[str]) -> bytes:
    chunks = []
    root = base.resolve()
    for p in paths:
        f = (base / p).resolve()
        if root not in f.parents:
            raise TfjsFormatError(f"weight shard {p!r} lies outside {base}")
        chunks.append(f.read_bytes())
    return b"".join(chunks)


def read_weights(manifest: Sequence[Mapping[str, Any]], base: Path) -> dict[str, npt.NDArray[Any]]:
    """Decode every weight of a ``weightsManifest`` whose shards lie under ``base``."""
    out: dict[str, npt.NDArray[Any]] = {}
    for group in manifest:
        data = _shard_bytes(base, group["paths"])
        offset = 0
        for spec in group["weights"]:
            shape = tuple(int(d) for d in spec["shape"])
            count = math.prod(shape)
            dtype = str(spec["dtype"])
            quant = spec.get("quantization")
            if quant:
                qdt = _QUANT_DTYPES.get(str(quant["dtype"]))
                if qdt is None:
                    raise TfjsFormatError(f"{spec['name']}: quantization {quant['dtype']!r}")
                raw = np.frombuffer(data, qdt, count=count, offset=offset)
                values = raw.astype(np.float32)
                if quant["dtype"] != "float16":  # affine: q * scale + min
                    values = values * np.float32(quant["scale"]) + np.float32(quant["min"])
                if quant.get("original_dtype", dtype) == "int32":
                    values = np.round(values).astype(np.int32)
                size = count * qdt.itemsize
            else:
                pdt = _PLAIN_DTYPES.get(dtype)
                if pdt is None:
                    raise TfjsFormatError(f"{spec['name']}: unsupported dtype {dtype!r}")
                values = np.frombuffer(data, pdt, count=count, offset=offset)
                values = (
                    values.astype(bool) if dtype == "bool" else values.astype(pdt.newbyteorder("="))
                )
                size = count * pdt.itemsize
            offset += size
            out[str(spec["name"])] = np.array(values).reshape(shape)
        if offset != len(data):
            raise TfjsFormatError(f"weight group uses {offset} of {len(data)} shard bytes")
    return out


def read_tfjs_model(model_json: Path) -> TfjsModel:
    """Parse a TFJS graph model (``model.json`` and the shards beside it)."""
    model_json = Path(model_json)
    doc = json.loads(model_json.read_text())
    if doc.get("format", "graph-model") != "graph-model":
        raise TfjsFormatError(f"{model_json.name}: format {doc.get('format')!r}, not graph-model")
    topo = doc.get("modelTopology") or {}
    if "node" not in topo:
        raise TfjsFormatError(f"{model_json.name}: no GraphDef nodes (a layers model?)")
    nodes = tuple(
        TfjsNode(
            name=str(n["name"]),
            op=str(n["op"]),
            inputs=tuple(str(i) for i in n.get("input", []) if not str(i).startswith("^")),
            attr=n.get("attr", {}),
        )
        for n in topo["node"]
    )
    manifest = doc.get("weightsManifest", [])
    weights = read_weights(manifest, model_json.parent)
    sig = doc.get("signature") or doc.get("userDefinedMetadata", {}).get("signature") or {}
    outputs = tuple(str(v.get("name", k)) for k, v in (sig.get("outputs") or {}).items())
    shards = [model_json.parent / p for g in manifest for p in g["paths"]]
    return TfjsModel(
        nodes=nodes,
        weights=weights,
        signature_outputs=outputs,
        files=(model_json, *shards),
        generated_by=str(doc.get("generatedBy", "")),
    )


def _base_name(ref: str) -> str:
    """``"name:0"`` -> ``"name"`` (only first outputs are supported)."""
    name, _, index = ref.partition(":")
    if index not in ("", "0"):
        raise TfjsFormatError(f"output {ref!r}: only a node's first output is supported")
    return name


def _order(model: TfjsModel, outputs: Sequence[str]) -> list[TfjsNode]:
    """The nodes ``outputs`` depend on, inputs before users (iterative DFS)."""
    by_name = {n.name: n for n in model.nodes}
    order: list[TfjsNode] = []
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    for root in outputs:
        stack: list[tuple[str, bool]] = [(root, False)]
        while stack:
            name, expanded = stack.pop()
            if expanded:
                state[name] = 2
                order.append(by_name[name])
                continue
            if state.get(name) == 2:
                continue
            if state.get(name) == 1:
                raise TfjsFormatError(f"cycle at node {name!r}")
            if name not in by_name:
                raise TfjsFormatError(f"unknown node {name!r}")
            state[name] = 1
            stack.append((name, True))
            stack.extend((_base_name(i), False) for i in reversed(by_name[name].inputs))
    return order


def to_onnx(model: TfjsModel, outputs: Sequence[str] | None = None, *, name: str = "tfjs") -> Any:
    """The ONNX ``ModelProto`` computing ``outputs`` (default: the signature's outputs)."""
    import onnx

    wanted = [_base_name(o) for o in (outputs or model.signature_outputs)]
    if not wanted:
        raise TfjsFormatError("no outputs requested and the model has no signature")
    b = Builder()
    b.reserve(wanted)
    values: dict[str, Val] = {}
    for node in _order(model, wanted):
        ins = [values[_base_name(i)] for i in node.inputs]
        values[node.name] = convert_node(b, node.name, node.op, node.attr, ins, model.weights)
    for out in wanted:
        b.output(values[out], out)
    graph = onnx.helper.make_graph(b.nodes, name, b.inputs, b.outputs, b.inits)
    proto = onnx.helper.make_model(
        graph,
        opset_imports=[onnx.helper.make_opsetid("", OPSET)],
        producer_name="fortify-tfjs",
        producer_version=str(CONVERTER_VERSION),
        ir_version=8,
    )
    onnx.checker.check_model(proto)
    return proto


def convert_tfjs(model_json: Path, onnx_path: Path, outputs: Sequence[str] | None = None) -> Path:
    """Convert a TFJS graph model to an ONNX file (deterministic bytes)."""
    t0 = time.perf_counter()
    model = read_tfjs_model(Path(model_json))
    proto = to_onnx(model, outputs, name=Path(model_json).stem)
    write_atomic(Path(onnx_path), proto.SerializeToString())
    log.info("converted %s -> %s in %.2f s", model_json, onnx_path, time.perf_counter() - t0)
    return Path(onnx_path)


def model_digest(model_json: Path) -> str:
    """SHA-256 over ``model.json`` and its shards, in manifest order."""
    doc = json.loads(Path(model_json).read_text())
    h = hashlib.sha256(Path(model_json).read_bytes())
    for group in doc.get("weightsManifest", []):
        h.update(_shard_bytes(Path(model_json).parent, group["paths"]))
    return h.hexdigest()


def cached_tfjs_onnx(
    model_json: Path, cache_dir: Path, outputs: Sequence[str] | None = None
) -> Path:
    """The converted model under ``cache_dir``, converting when missing."""
    key = hashlib.sha256(
        f"{model_digest(model_json)}|{','.join(outputs or ())}|{CONVERTER_VERSION}".encode()
    ).hexdigest()[:16]
    path = Path(cache_dir) / f"{Path(model_json).stem}-{key}-c{CONVERTER_VERSION}.onnx"
    if not path.is_file():
        convert_tfjs(Path(model_json), path, outputs)
    return path
