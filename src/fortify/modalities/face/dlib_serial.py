"""A small reader for dlib's binary ``serialize()`` format, enough for its DNN files.

Written from dlib's documented format (``dlib/serialize.h``, ``dlib/float_details.h``,
``dlib/cuda/tensor.h``, ``dlib/dnn/{core,layers,input,loss}.h``):

* integers: one control byte (bit 7 = negative, low 4 bits = byte count) followed by the
  absolute value in little-endian order;
* floating point: a ``float_details`` pair, mantissa (int64) then exponent (int16), both
  as integers above; value = mantissa * 2**exponent;
* strings: length (integer) then raw bytes; bools: the ASCII byte ``'1'`` or ``'0'``;
* tensors: version, then n, k, nr, nc, then the values (version 1: one float each,
  version 2: raw little-endian IEEE float32).

Layer *details* carry a version string naming their type (``con_5``, ``affine_``...), so
they are read here into plain dataclasses. How the layers nest (tags, skips, which tag an
``add_prev`` refers to) is a property of the C++ network type and is not in the file;
:mod:`fortify.modalities.face.dlib_onnx` supplies it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]

_FD_SPECIAL = {32000: math.inf, 32001: -math.inf, 32002: math.nan}


class DlibFormatError(ValueError):
    """The bytes are not what dlib's serialization of the expected network would give."""


class Reader:
    """Sequential reader over one serialized dlib object."""

    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)
        self.pos = 0

    @property
    def remaining(self) -> int:
        return len(self._data) - self.pos

    def _take(self, n: int) -> memoryview:
        if n < 0 or self.pos + n > len(self._data):
            raise DlibFormatError(f"unexpected end of data at byte {self.pos} (wanted {n})")
        out = self._data[self.pos : self.pos + n]
        self.pos += n
        return out

    def integer(self, *, signed: bool = True) -> int:
        ctrl = self._take(1)[0]
        size = ctrl & 0x0F
        negative = bool(ctrl & 0x80)
        if size > 8 or (negative and not signed):
            raise DlibFormatError(f"bad integer control byte {ctrl:#x} at byte {self.pos - 1}")
        value = int.from_bytes(self._take(size), "little") if size else 0
        return -value if negative else value

    def unsigned(self) -> int:
        return self.integer(signed=False)

    def real(self) -> float:
        """A float or double (dlib writes both the same way)."""
        if self._data[self.pos] & 0x70:
            raise DlibFormatError(f"old ASCII float format at byte {self.pos} is not supported")
        mantissa = self.integer()
        exponent = self.integer()
        if exponent in _FD_SPECIAL:
            return _FD_SPECIAL[exponent]
        return math.ldexp(float(mantissa), exponent)

    def string(self) -> str:
        n = self.unsigned()
        return bytes(self._take(n)).decode("latin-1")

    def boolean(self) -> bool:
        ch = bytes(self._take(1))
        if ch not in (b"0", b"1"):
            raise DlibFormatError(f"bad bool byte {ch!r} at byte {self.pos - 1}")
        return ch == b"1"

    def version(self, allowed: tuple[int, ...], what: str) -> int:
        v = self.integer()
        if v not in allowed:
            raise DlibFormatError(f"{what}: version {v} not in {allowed} (byte {self.pos})")
        return v

    def tensor(self) -> F32:
        """A ``resizable_tensor`` as an array of shape (n, k, nr, nc)."""
        version = self.version((1, 2), "tensor")
        shape = tuple(self.integer() for _ in range(4))
        count = math.prod(shape)
        if version == 2:
            raw = self._take(4 * count)
            values = np.frombuffer(raw, dtype="<f4").astype(np.float32)
        else:
            values = np.array([self.real() for _ in range(count)], dtype=np.float32)
        return values.reshape(shape)

    def alias_tensor(self) -> tuple[int, int, int, int]:
        self.version((1,), "alias_tensor")
        n, k, nr, nc = (self.integer() for _ in range(4))
        return n, k, nr, nc


# ---------------------------------------------------------------------------------------
# layer details


@dataclass(frozen=True)
class InputRGB:
    """``input_rgb_image_sized``: x = (pixel - avg) / 256, planar R, G, B."""

    avg: tuple[float, float, float]
    nr: int
    nc: int


@dataclass(frozen=True)
class Conv:
    weight: F32  # (out, in, kh, kw), cross-correlation like ONNX Conv
    bias: F32 | None
    stride: tuple[int, int]
    padding: tuple[int, int]
    relu: bool


@dataclass(frozen=True)
class Affine:
    """Per-channel (conv mode) or per-element (fc mode) ``y = gamma * x + beta``."""

    gamma: F32
    beta: F32
    conv_mode: bool
    disabled: bool = False


@dataclass(frozen=True)
class Relu:
    pass


@dataclass(frozen=True)
class Pool:
    kind: str  # "max" or "avg"
    window: tuple[int, int]  # (0, 0) means the whole input
    stride: tuple[int, int]
    padding: tuple[int, int]


@dataclass(frozen=True)
class AddPrev:
    pass


@dataclass(frozen=True)
class Fc:
    weight: F32  # (num_inputs, num_outputs): y = x @ weight (+ bias)
    bias: F32 | None


@dataclass(frozen=True)
class LossMetric:
    margin: float
    dist_thresh: float


Details = InputRGB | Conv | Affine | Relu | Pool | AddPrev | Fc


def _multipliers(r: Reader, n: int) -> None:
    for _ in range(n):
        r.real()  # learning-rate / weight-decay multipliers: training only


def read_input(r: Reader) -> InputRGB:
    name = r.string()
    if name != "input_rgb_image_sized":
        raise DlibFormatError(f"expected input_rgb_image_sized, found {name!r}")
    avg = (r.real(), r.real(), r.real())
    return InputRGB(avg=avg, nr=r.unsigned(), nc=r.unsigned())


def read_loss(r: Reader) -> LossMetric:
    name = r.string()
    if name == "loss_metric_":
        return LossMetric(0.1, 0.75)
    if name != "loss_metric_2":
        raise DlibFormatError(f"expected loss_metric_, found {name!r}")
    return LossMetric(r.real(), r.real())


def _read_conv(r: Reader, name: str) -> Conv:
    params = r.tensor().reshape(-1)
    num_filters = r.integer()
    r.integer(), r.integer()  # nr, nc (also in the filters alias)
    stride = (r.integer(), r.integer())
    padding = (r.integer(), r.integer())
    filters = r.alias_tensor()
    r.alias_tensor()  # biases alias
    _multipliers(r, 4)
    use_bias = r.boolean() if name in ("con_5", "con_6") else True
    use_relu = r.boolean() if name == "con_6" else False
    nw = math.prod(filters)
    if filters[0] != num_filters or params.size != nw + (num_filters if use_bias else 0):
        raise DlibFormatError(f"con_: params size {params.size} does not fit filters {filters}")
    bias = params[nw:].copy() if use_bias else None
    return Conv(params[:nw].reshape(filters), bias, stride, padding, use_relu)


def _read_bn(r: Reader, name: str) -> Affine:
    params = r.tensor().reshape(-1)
    r.alias_tensor(), r.alias_tensor()  # gamma, beta
    for _ in range(2):
        r.tensor()  # batch means / invstds: training only
    running_means = r.tensor().reshape(-1).astype(np.float64)
    running_vars = r.tensor().reshape(-1).astype(np.float64)
    r.unsigned(), r.unsigned()  # num_updates, running_stats_window_size
    _multipliers(r, 4)
    eps = r.real()
    half = params.size // 2
    g = params[:half].astype(np.float64) / np.sqrt(running_vars + eps)
    b = params[half:].astype(np.float64) - g * running_means
    return Affine(g.astype(np.float32), b.astype(np.float32), conv_mode=name == "bn_con2")


def _read_affine(r: Reader, name: str) -> Affine:
    params = r.tensor().reshape(-1)
    gamma = r.alias_tensor()
    r.alias_tensor()
    mode = r.integer()
    disabled = r.boolean() if name == "affine_2" else False
    n = math.prod(gamma)
    if params.size != 2 * n and not disabled:
        raise DlibFormatError(f"affine_: params size {params.size} does not fit gamma {gamma}")
    return Affine(params[:n].copy(), params[n:].copy(), conv_mode=mode == 0, disabled=disabled)


def _read_pool(r: Reader, name: str) -> Pool:
    window = (r.integer(), r.integer())
    stride = (r.integer(), r.integer())
    padding = (r.integer(), r.integer())
    return Pool(name[:3], window, stride, padding)


def _read_fc(r: Reader, name: str) -> Fc:
    num_outputs = r.unsigned()
    num_inputs = r.unsigned()
    params = r.tensor().reshape(-1)
    r.alias_tensor(), r.alias_tensor()  # weights, biases
    bias_mode = r.integer()  # 0 = FC_HAS_BIAS, 1 = FC_NO_BIAS
    _multipliers(r, 4)
    use_bias = (r.boolean() if name == "fc_3" else True) and bias_mode == 0
    nw = num_inputs * num_outputs
    if params.size != nw + (num_outputs if use_bias else 0):
        raise DlibFormatError(f"fc_: params size {params.size} does not fit {nw}")
    bias = params[nw:].copy() if use_bias else None
    return Fc(params[:nw].reshape(num_inputs, num_outputs), bias)


def read_details(r: Reader) -> Details:
    """One computational layer's details, typed by its version string."""
    name = r.string()
    if name in ("con_4", "con_5", "con_6"):
        return _read_conv(r, name)
    if name in ("affine_", "affine_2"):
        return _read_affine(r, name)
    if name in ("bn_con2", "bn_fc2"):
        return _read_bn(r, name)
    if name == "relu_":
        return Relu()
    if name in ("max_pool_2", "avg_pool_2"):
        return _read_pool(r, name)
    if name == "add_prev_":
        return AddPrev()
    if name in ("fc_2", "fc_3"):
        return _read_fc(r, name)
    raise DlibFormatError(f"unsupported dlib layer {name!r} at byte {r.pos}")
