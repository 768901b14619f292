"""Graph-building helpers of the TFJS -> ONNX converter: values, layouts and attributes.

TensorFlow's image tensors are NHWC, ONNX's convolutions and pools want NCHW. Each
converted value (:class:`Val`) records whether its ONNX tensor is the TF tensor transposed
to NCHW (``nchw``); :class:`Builder` inserts a Transpose only where a consumer needs the
other layout, and caches it, so chains of convolutions carry no transposes in between.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

TO_NCHW = (0, 3, 1, 2)
TF_TO_ONNX_AXIS = (0, 2, 3, 1)  # TF NHWC axis -> axis of the NCHW ONNX tensor

Array = npt.NDArray[Any]


class TfjsFormatError(ValueError):
    """The TFJS model is malformed or uses something the converter does not map."""


@dataclass(frozen=True)
class Val:
    """A converted TF value: an ONNX name, or a constant not yet written as an initialiser."""

    name: str
    rank: int
    nchw: bool = False
    const: Array | None = None

    @staticmethod
    def constant(value: Array, name: str = "") -> Val:
        arr = np.asarray(value)
        return Val(name, arr.ndim, False, arr)


# --- attribute decoding --------------------------------------------------------------------


def attr_str(attr: Mapping[str, Any], key: str, default: str = "") -> str:
    raw = attr.get(key, {}).get("s")
    return base64.b64decode(raw).decode() if raw is not None else default


def attr_ints(attr: Mapping[str, Any], key: str, default: Sequence[int] = ()) -> list[int]:
    values = attr.get(key, {}).get("list", {}).get("i")
    return [int(v) for v in values] if values else list(default)


def attr_strs(attr: Mapping[str, Any], key: str) -> list[str]:
    return [base64.b64decode(s).decode() for s in attr.get(key, {}).get("list", {}).get("s", [])]


def attr_float(attr: Mapping[str, Any], key: str, default: float) -> float:
    return float(attr.get(key, {}).get("f", default))


def attr_int(attr: Mapping[str, Any], key: str, default: int) -> int:
    return int(attr.get(key, {}).get("i", default))


def attr_bool(attr: Mapping[str, Any], key: str, default: bool = False) -> bool:
    return bool(attr.get(key, {}).get("b", default))


# --- graph builder ---------------------------------------------------------------------------


class Builder:
    """Accumulates ONNX nodes, initialisers, inputs and outputs under unique names."""

    def __init__(self) -> None:
        import onnx

        self.onnx = onnx
        self.nodes: list[Any] = []
        self.inits: list[Any] = []
        self.inputs: list[Any] = []
        self.outputs: list[Any] = []
        self._names: set[str] = set()
        self._const_names: dict[str, str] = {}
        self._layout_cache: dict[tuple[str, bool], Val] = {}

    def reserve(self, names: Sequence[str]) -> None:
        """Keep ``names`` (the graph outputs) free for :meth:`output`."""
        self._names.update(names)

    def unique(self, hint: str) -> str:
        name, n = hint, 0
        while name in self._names:
            n += 1
            name = f"{hint}_{n}"
        self._names.add(name)
        return name

    def init(self, value: Array, hint: str) -> str:
        arr = np.ascontiguousarray(value)
        if arr.dtype == np.float64:
            arr = arr.astype(np.float32)
        name = self.unique(hint)
        self.inits.append(self.onnx.numpy_helper.from_array(arr, name))
        return name

    def op(self, op_type: str, inputs: Sequence[str], hint: str = "", **attrs: Any) -> str:
        out = self.unique(hint or op_type.lower())
        self.nodes.append(
            self.onnx.helper.make_node(op_type, list(inputs), [out], name=out, **attrs)
        )
        return out

    def dyn(self, v: Val) -> str:
        """The ONNX name of ``v``, writing a constant as a float32 initialiser on first use."""
        if v.const is None:
            return v.name
        key = v.name or f"anon{id(v.const)}"
        if key not in self._const_names or not v.name:
            arr = v.const.astype(np.float32) if v.const.dtype.kind == "f" else v.const
            self._const_names[key] = self.init(arr, v.name or "const")
        return self._const_names[key]

    def to_tf(self, v: Val) -> Val:
        if not v.nchw:
            return v
        key = (v.name, False)
        if key not in self._layout_cache:
            name = self.op("Transpose", [v.name], f"{v.name}_nhwc", perm=[0, 2, 3, 1])
            self._layout_cache[key] = Val(name, 4)
        return self._layout_cache[key]

    def to_nchw(self, v: Val) -> Val:
        if v.nchw:
            return v
        if v.rank != 4:
            raise TfjsFormatError(f"{v.name}: rank {v.rank} where NHWC images are expected")
        if v.const is not None:
            return Val("", 4, True, v.const.transpose(TO_NCHW))
        key = (v.name, True)
        if key not in self._layout_cache:
            name = self.op("Transpose", [v.name], f"{v.name}_nchw", perm=list(TO_NCHW))
            self._layout_cache[key] = Val(name, 4, True)
        return self._layout_cache[key]

    def input(self, name: str, dims: Sequence[int | None]) -> Val:
        tp = self.onnx.TensorProto
        self._names.add(name)
        shape = [
            d if d is not None and d >= 0 else "N" if i == 0 else None for i, d in enumerate(dims)
        ]
        self.inputs.append(self.onnx.helper.make_tensor_value_info(name, tp.FLOAT, shape))
        return Val(name, len(dims))

    def output(self, v: Val, name: str) -> None:
        src = self.dyn(self.to_tf(v))
        self.nodes.append(self.onnx.helper.make_node("Identity", [src], [name], name=name))
        tp = self.onnx.TensorProto
        shape = ["N", *([None] * (v.rank - 1))] if v.rank else []
        self.outputs.append(self.onnx.helper.make_tensor_value_info(name, tp.FLOAT, shape))


def like_layout(value: Array, x: Val) -> Array:
    """A TF constant broadcast against ``x``, permuted into ``x``'s ONNX layout."""
    arr = np.asarray(value, dtype=np.float32)
    if not x.nchw or arr.ndim == 0:
        return arr
    if arr.size == 1:
        return arr.reshape(())
    if arr.ndim > 4:
        raise TfjsFormatError(f"constant of rank {arr.ndim} against an image tensor")
    return arr.reshape((1,) * (4 - arr.ndim) + arr.shape).transpose(TO_NCHW)


def need_const(v: Val, what: str) -> Array:
    if v.const is None:
        raise TfjsFormatError(f"{what} must be a constant (computed weights are not supported)")
    return v.const


def norm_axes(values: Array, rank: int) -> list[int]:
    return sorted({int(a) % rank for a in np.atleast_1d(values)})


def keeps_order(axes: Sequence[int]) -> bool:
    """Whether dropping ``axes`` of an NCHW-held 4-d tensor leaves the TF axis order."""
    kept = [TF_TO_ONNX_AXIS[a] for a in range(4) if a not in axes]
    return kept == sorted(kept)
