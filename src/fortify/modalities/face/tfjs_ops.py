"""TensorFlow op -> ONNX op mapping for :mod:`fortify.modalities.face.tfjs_onnx`.

Values carry their layout (:class:`~fortify.modalities.face.tfjs_graph.Val`): convolutions
and pools produce NCHW; element-wise ops keep their operand's layout (constants are permuted
to match); ops whose meaning depends on the memory order (Reshape, MatMul, Softmax, graph
outputs) get a Transpose back to NHWC first. Fused ops (``_FusedConv2D``,
``FusedDepthwiseConv2dNative``, ``_FusedMatMul`` with BiasAdd / FusedBatchNorm and
Relu / Relu6 / Prelu / LeakyRelu / Elu / Sigmoid / Tanh) fold bias and batch norm into the
ONNX Conv or MatMul.

Only the ops the human-models face embedders use, and their close relatives, are mapped;
anything else raises :class:`TfjsFormatError` naming the op.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from fortify.modalities.face.tfjs_graph import (
    TF_TO_ONNX_AXIS,
    TO_NCHW,
    Array,
    Builder,
    TfjsFormatError,
    Val,
    attr_bool,
    attr_float,
    attr_ints,
    attr_str,
    attr_strs,
    keeps_order,
    like_layout,
    need_const,
    norm_axes,
)

OPSET = 17

__all__ = ["HANDLERS", "OPSET", "Builder", "TfjsFormatError", "Val", "convert_node"]


# --- handlers ------------------------------------------------------------------------------

Handler = Callable[[Builder, str, Mapping[str, Any], list[Val]], Val]
HANDLERS: dict[str, Handler] = {}


def _handles(*ops: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        for op in ops:
            HANDLERS[op] = fn
        return fn

    return register


def _activation(b: Builder, x: Val, kind: str, attr: Mapping[str, Any], arg: Val | None) -> Val:
    if kind == "Relu":
        return Val(b.op("Relu", [x.name]), x.rank, x.nchw)
    if kind == "Relu6":
        lo, hi = b.init(np.array(0, np.float32), "zero"), b.init(np.array(6, np.float32), "six")
        return Val(b.op("Clip", [x.name, lo, hi]), x.rank, x.nchw)
    if kind in ("Elu", "Sigmoid", "Tanh"):
        return Val(b.op(kind, [x.name]), x.rank, x.nchw)
    if kind == "LeakyRelu":
        alpha = attr_float(attr, "leakyrelu_alpha", attr_float(attr, "alpha", 0.2))
        return Val(b.op("LeakyRelu", [x.name], alpha=alpha), x.rank, x.nchw)
    if kind == "Prelu":
        if arg is None:
            raise TfjsFormatError("Prelu without alpha")
        slope = b.init(like_layout(need_const(arg, "Prelu alpha"), x), "prelu_alpha")
        return Val(b.op("PRelu", [x.name, slope]), x.rank, x.nchw)
    raise TfjsFormatError(f"unsupported fused activation {kind!r}")


def _split_fused(
    attr: Mapping[str, Any], args: list[Val], what: str
) -> tuple[Array | None, Array | None, list[str]]:
    """A fused op list as (gain, bias, activations): y = act(gain * op(x) + bias)."""
    fused = attr_strs(attr, "fused_ops")
    gain: Array | None = None
    bias: Array | None = None
    if fused and fused[0] == "BiasAdd":
        bias = need_const(args[0], f"{what} bias").astype(np.float64)
        fused = fused[1:]
    elif fused and fused[0] == "FusedBatchNorm":
        scale, offset, mean, var = (need_const(a, f"{what} statistics") for a in args[:4])
        gain = scale.astype(np.float64) / np.sqrt(var + attr_float(attr, "epsilon", 1e-3))
        bias = offset - mean * gain
        fused = fused[1:]
    return gain, bias, fused


def _apply_fused(
    b: Builder, x: Val, attr: Mapping[str, Any], acts: list[str], args: list[Val]
) -> Val:
    alpha = args[1] if len(args) > 1 else None  # (bias, alpha) for BiasAdd + Prelu
    for kind in acts:
        x = _activation(b, x, kind, attr, alpha)
    return x


@_handles("Conv2D", "_FusedConv2D", "DepthwiseConv2dNative", "FusedDepthwiseConv2dNative")
def _conv(b: Builder, name: str, attr: Mapping[str, Any], ins: list[Val]) -> Val:
    if attr_str(attr, "data_format", "NHWC") != "NHWC":
        raise TfjsFormatError(f"{name}: only NHWC convolutions are supported")
    x = b.to_nchw(ins[0])
    w = need_const(ins[1], f"{name} filter").astype(np.float64)
    kh, kw, cin, cout = w.shape
    if "Depthwise" in _op_of(attr):  # [kh, kw, in, multiplier] -> [in * multiplier, 1, kh, kw]
        weight, group = w.transpose(2, 3, 0, 1).reshape(cin * cout, 1, kh, kw), cin
    else:  # [kh, kw, in, out] -> [out, in, kh, kw]
        weight, group = w.transpose(3, 2, 0, 1), 1
    gain, bias, acts = _split_fused(attr, ins[2:], name)
    if gain is not None:
        weight = weight * gain.reshape(-1, 1, 1, 1)
    conv_attrs: dict[str, Any] = {
        "kernel_shape": [kh, kw],
        "strides": attr_ints(attr, "strides", [1, 1, 1, 1])[1:3],
        "dilations": attr_ints(attr, "dilations", [1, 1, 1, 1])[1:3],
        "group": group,
        **_padding(attr, name),
    }
    inputs = [x.name, b.init(weight.astype(np.float32), f"{name}/w")]
    if bias is not None:
        inputs.append(b.init(bias.astype(np.float32).reshape(-1), f"{name}/b"))
    out = Val(b.op("Conv", inputs, name, **conv_attrs), 4, True)
    return _apply_fused(b, out, attr, acts, ins[2:])


def _padding(attr: Mapping[str, Any], name: str) -> dict[str, Any]:
    pad = attr_str(attr, "padding", "VALID")
    if pad == "SAME":
        return {"auto_pad": "SAME_UPPER"}  # TF puts the odd pixel at the end, like SAME_UPPER
    if pad == "VALID":
        return {"pads": [0, 0, 0, 0]}
    if pad == "EXPLICIT":
        p = attr_ints(attr, "explicit_paddings")  # NHWC (before, after) pairs
        return {"pads": [p[2], p[4], p[3], p[5]]}
    raise TfjsFormatError(f"{name}: padding {pad!r}")


@_handles("MaxPool", "AvgPool")
def _pool(b: Builder, name: str, attr: Mapping[str, Any], ins: list[Val]) -> Val:
    x = b.to_nchw(ins[0])
    pool_attrs = {
        "kernel_shape": attr_ints(attr, "ksize")[1:3],
        "strides": attr_ints(attr, "strides", [1, 1, 1, 1])[1:3],
        **_padding(attr, name),  # AveragePool excludes padding, like TF's AvgPool
    }
    kind = "MaxPool" if _op_of(attr) == "MaxPool" else "AveragePool"
    return Val(b.op(kind, [x.name], name, **pool_attrs), 4, True)


@_handles("BiasAdd")
def _bias_add(b: Builder, name: str, attr: Mapping[str, Any], ins: list[Val]) -> Val:
    x = ins[0]
    bias = b.init(like_layout(need_const(ins[1], f"{name} bias"), x), f"{name}/b")
    return Val(b.op("Add", [b.dyn(x), bias], name), x.rank, x.nchw)


_BINARY: dict[str, tuple[str, Callable[[Array, Array], Array]]] = {
    "Add": ("Add", np.add),
    "AddV2": ("Add", np.add),
    "Sub": ("Sub", np.subtract),
    "Mul": ("Mul", np.multiply),
    "RealDiv": ("Div", np.divide),
    "Div": ("Div", np.divide),
    "Maximum": ("Max", np.maximum),
    "Minimum": ("Min", np.minimum),
    "Pow": ("Pow", np.power),
}


def _binary(b: Builder, name: str, onnx_op: str, ins: list[Val]) -> Val:
    a, c = ins
    if a.nchw or c.nchw:
        ref = a if a.nchw else c
        a, c = (_match(b, v, ref) for v in (a, c))
        if a.const is None and c.const is None and not (a.nchw and c.nchw):
            a, c = b.to_tf(a), b.to_tf(c)
    rank = max(a.rank, c.rank)
    return Val(b.op(onnx_op, [b.dyn(a), b.dyn(c)], name), rank, a.nchw or c.nchw)


def _match(b: Builder, v: Val, ref: Val) -> Val:
    """``v`` brought into ``ref``'s NCHW layout where possible."""
    if v.nchw:
        return v
    if v.const is not None:
        return Val("", ref.rank, False, like_layout(v.const, ref))
    return b.to_nchw(v) if v.rank == 4 else v


_UNARY: dict[str, tuple[str, Callable[[Array], Array] | None]] = {
    "Relu": ("Relu", lambda a: np.maximum(a, 0)),
    "Abs": ("Abs", np.abs),
    "Neg": ("Neg", np.negative),
    "Exp": ("Exp", np.exp),
    "Log": ("Log", np.log),
    "Sqrt": ("Sqrt", np.sqrt),
    "Reciprocal": ("Reciprocal", np.reciprocal),
    "Sigmoid": ("Sigmoid", None),
    "Tanh": ("Tanh", np.tanh),
    "Elu": ("Elu", None),
    "Floor": ("Floor", np.floor),
}


def _unary(b: Builder, name: str, op: str, attr: Mapping[str, Any], ins: list[Val]) -> Val:
    x = ins[0]
    if op in _UNARY:
        onnx_op, fold = _UNARY[op]
        if x.const is not None and fold is not None:
            return Val.constant(fold(x.const))
        return Val(b.op(onnx_op, [b.dyn(x)], name), x.rank, x.nchw)
    xd = Val(b.dyn(x), x.rank, x.nchw)
    if op == "Square":
        return Val(b.op("Mul", [xd.name, xd.name], name), x.rank, x.nchw)
    if op == "Rsqrt":
        root = b.op("Sqrt", [xd.name])
        return Val(b.op("Reciprocal", [root], name), x.rank, x.nchw)
    if op in ("Relu6", "LeakyRelu"):
        return _activation(b, xd, op, attr, None)
    raise TfjsFormatError(f"{name}: unsupported op {op}")


@_handles("Prelu")
def _prelu(b: Builder, name: str, attr: Mapping[str, Any], ins: list[Val]) -> Val:
    x = Val(b.dyn(ins[0]), ins[0].rank, ins[0].nchw)
    return _activation(b, x, "Prelu", attr, ins[1])


@_handles("_FusedMatMul", "MatMul")
def _matmul(b: Builder, name: str, attr: Mapping[str, Any], ins: list[Val]) -> Val:
    a, w = b.to_tf(ins[0]), ins[1]
    aname = b.dyn(a)
    if attr_bool(attr, "transpose_a"):
        aname = b.op("Transpose", [aname], perm=[1, 0])
    if w.const is not None:
        wc = w.const.T if attr_bool(attr, "transpose_b") else w.const
        wname = b.init(wc.astype(np.float32), f"{name}/w")
    else:
        wname = b.dyn(b.to_tf(w))
        if attr_bool(attr, "transpose_b"):
            wname = b.op("Transpose", [wname], perm=[1, 0])
    out = Val(b.op("MatMul", [aname, wname], name), 2)
    gain, bias, acts = _split_fused(attr, ins[2:], name)
    if gain is not None:
        out = Val(b.op("Mul", [out.name, b.init(gain.astype(np.float32), f"{name}/g")]), 2)
    if bias is not None:
        out = Val(b.op("Add", [out.name, b.init(bias.astype(np.float32), f"{name}/b")]), 2)
    return _apply_fused(b, out, attr, acts, ins[2:])


@_handles("FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3")
def _batch_norm(b: Builder, name: str, attr: Mapping[str, Any], ins: list[Val]) -> Val:
    scale, offset, mean, var = (
        need_const(v, f"{name} statistics").astype(np.float64) for v in ins[1:5]
    )
    gain = scale / np.sqrt(var + attr_float(attr, "epsilon", 1e-3))
    shift = offset - mean * gain
    x = ins[0]
    mul = b.op("Mul", [b.dyn(x), b.init(like_layout(gain, x), f"{name}/gain")])
    return Val(
        b.op("Add", [mul, b.init(like_layout(shift, x), f"{name}/shift")], name), x.rank, x.nchw
    )


@_handles("Mean", "Sum", "Max", "Min", "Prod")
def _reduce(b: Builder, name: str, attr: Mapping[str, Any], ins: list[Val]) -> Val:
    x = ins[0]
    axes = norm_axes(need_const(ins[1], f"{name} axes"), x.rank)
    keep = attr_bool(attr, "keep_dims")
    if x.nchw and not keep and not keeps_order(axes):
        x = b.to_tf(x)
    oaxes = [TF_TO_ONNX_AXIS[a] for a in axes] if x.nchw else axes
    op = {
        "Mean": "ReduceMean",
        "Sum": "ReduceSum",
        "Max": "ReduceMax",
        "Min": "ReduceMin",
        "Prod": "ReduceProd",
    }[_op_of(attr)]
    if op == "ReduceSum":  # axes is an input from opset 13, an attribute for the rest (< 18)
        axes_in = b.init(np.array(sorted(oaxes), dtype=np.int64), f"{name}/axes")
        out = b.op(op, [b.dyn(x), axes_in], name, keepdims=int(keep))
    else:
        out = b.op(op, [b.dyn(x)], name, axes=sorted(oaxes), keepdims=int(keep))
    return Val(out, x.rank if keep else x.rank - len(axes), x.nchw and keep)


def _op_of(attr: Mapping[str, Any]) -> str:
    return str(attr["__op__"])


@_handles("Squeeze")
def _squeeze(b: Builder, name: str, attr: Mapping[str, Any], ins: list[Val]) -> Val:
    x = ins[0]
    dims = attr_ints(attr, "squeeze_dims") or attr_ints(attr, "axis")
    if not dims:
        raise TfjsFormatError(f"{name}: Squeeze without explicit dims")
    axes = norm_axes(np.array(dims), x.rank)
    if x.nchw and not keeps_order(axes):
        x = b.to_tf(x)
    oaxes = sorted(TF_TO_ONNX_AXIS[a] for a in axes) if x.nchw else axes
    axes_in = b.init(np.array(oaxes, dtype=np.int64), f"{name}/axes")
    return Val(b.op("Squeeze", [b.dyn(x), axes_in], name), x.rank - len(axes))


@_handles("Reshape")
def _reshape(b: Builder, name: str, attr: Mapping[str, Any], ins: list[Val]) -> Val:
    shape = need_const(ins[1], f"{name} shape").astype(np.int64).reshape(-1)
    x = b.to_tf(ins[0])
    if x.const is not None:
        return Val.constant(x.const.reshape(shape))
    return Val(b.op("Reshape", [x.name, b.init(shape, f"{name}/shape")], name), int(shape.size))


@_handles("Pad", "PadV2", "MirrorPad")
def _pad(b: Builder, name: str, attr: Mapping[str, Any], ins: list[Val]) -> Val:
    x = ins[0]
    rows = need_const(ins[1], f"{name} paddings").astype(np.int64).reshape(x.rank, 2)
    if x.nchw:
        rows = rows[list(TO_NCHW)]
    pads = b.init(np.concatenate([rows[:, 0], rows[:, 1]]), f"{name}/pads")
    inputs = [b.dyn(x), pads]
    mode = "constant"
    if _op_of(attr) == "MirrorPad":
        mode = {"REFLECT": "reflect"}.get(attr_str(attr, "mode"), "")
        if not mode:
            raise TfjsFormatError(f"{name}: MirrorPad mode {attr_str(attr, 'mode')!r}")
    elif len(ins) > 2:
        inputs.append(b.init(np.asarray(need_const(ins[2], "pad value"), np.float32), f"{name}/v"))
    return Val(b.op("Pad", inputs, name, mode=mode), x.rank, x.nchw)


@_handles("ConcatV2")
def _concat(b: Builder, name: str, attr: Mapping[str, Any], ins: list[Val]) -> Val:
    parts, rank = ins[:-1], ins[0].rank
    axis = int(need_const(ins[-1], f"{name} axis")) % rank
    if any(p.nchw for p in parts):
        parts = [b.to_nchw(p) for p in parts]
        axis = TF_TO_ONNX_AXIS[axis]
    return Val(b.op("Concat", [b.dyn(p) for p in parts], name, axis=axis), rank, parts[0].nchw)


@_handles("Softmax")
def _softmax(b: Builder, name: str, attr: Mapping[str, Any], ins: list[Val]) -> Val:
    x = b.to_tf(ins[0])
    return Val(b.op("Softmax", [b.dyn(x)], name, axis=-1), x.rank)


def convert_node(
    b: Builder,
    name: str,
    op: str,
    attr: Mapping[str, Any],
    ins: list[Val],
    weights: Mapping[str, Array],
) -> Val:
    """Convert one TF node whose inputs are already converted."""
    if op == "Const":
        if name not in weights:
            raise TfjsFormatError(f"Const {name!r} has no weight in the manifest")
        return Val.constant(weights[name], name)
    if op == "Placeholder":
        dims = attr.get("shape", {}).get("shape", {}).get("dim", [])
        return b.input(name, [int(d.get("size", -1)) for d in dims])
    if op in ("Identity", "StopGradient", "Snapshot"):
        return ins[0]
    tagged = {**attr, "__op__": op}
    if op in _BINARY:
        a, c = ins
        onnx_op, fold = _BINARY[op]
        if a.const is not None and c.const is not None:
            return Val.constant(fold(a.const, c.const))
        return _binary(b, name, onnx_op, ins)
    if op in _UNARY or op in ("Square", "Rsqrt", "Relu6", "LeakyRelu"):
        return _unary(b, name, op, tagged, ins)
    handler = HANDLERS.get(op)
    if handler is None:
        raise TfjsFormatError(f"{name}: unsupported op {op}")
    return handler(b, name, tagged, ins)
