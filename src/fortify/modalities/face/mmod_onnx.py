"""dlib's CNN (MMOD) face detector converted to ONNX and run with onnxruntime.

dlib's HOG frontal detector misses about 7% of in-the-wild CelebA photos. dlib also ships a
CNN detector, ``mmod_human_face_detector.dat`` (the network of
``tools/python/src/cnn_face_detector.cpp``)::

    loss_mmod<con<1,9,9,1,1, rcon5<rcon5<rcon5<downsampler<
        input_rgb_image_pyramid<pyramid_down<6>>>>>>>>
    downsampler = 3 x relu<affine<con<16|32|32, 5,5, 2,2>>>,  rcon5 = relu<affine<con<45,5,5>>>

but dlib-bin (no BLAS) runs it slowly. This module reads the weights file with
:mod:`fortify.modalities.face.dlib_serial`, rebuilds the fully-convolutional part as an ONNX
graph with dynamic height and width (cached on disk, the file name carries the weights'
sha256 prefix), and does the rest as dlib does (:mod:`fortify.modalities.face.mmod_pyramid`):
the tiled image pyramid, reading windows off the score map, and non-max suppression. The
detections equal ``dlib.cnn_face_detection_model_v1(path)(img, upsample)``'s (checked by
``tests/unit/modalities/face/test_mmod_onnx.py``).

:class:`MmodFaceDetector` is a drop-in for
:class:`~fortify.modalities.face.dlib_backend.DlibFaceDetector` (same 5-point landmarks,
aligned chips and quality); :class:`CascadeFaceDetector` runs HOG first and the CNN only
when HOG finds no face.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from fortify.imaging import RGBImage
from fortify.modalities.face import dlib_serial as ds
from fortify.modalities.face import mmod_pyramid as mp
from fortify.modalities.face.dlib_backend import CHIP_PADDING, CHIP_SIZE, DlibFaceDetector
from fortify.modalities.face.dlib_onnx import _conv, _Graph
from fortify.modalities.face.onnx_io import write_atomic
from fortify.modalities.face.weights import file_digest, weights_path
from fortify.types import Detection

log = logging.getLogger(__name__)

CONVERTER_VERSION = 1
"""Bump when the generated graph changes, so cached files are rebuilt."""
OPSET = 17
INPUT_NAME = "pyramid"
OUTPUT_NAME = "scores"

# The layers bottom (input side) first; the file holds their details, not the type.
MMOD_SPEC: tuple[type, ...] = (
    *(ds.Conv, ds.Affine, ds.Relu) * 3,  # downsampler: con5d<16>, con5d<32>, con5d<32>
    *(ds.Conv, ds.Affine, ds.Relu) * 3,  # rcon5<45> x 3
    ds.Conv,  # con<1,9,9,1,1>
)


@dataclass(frozen=True)
class MmodNet:
    """A parsed ``mmod_human_face_detector.dat``."""

    windows: tuple[tuple[int, int], ...]  # detector windows (width, height), one per channel
    nms_iou: float
    nms_covered: float
    avg: tuple[float, float, float]
    padding: int
    outer_padding: int
    layers: tuple[ds.Details, ...]

    def output_size(self, nr: int, nc: int) -> tuple[int, int]:
        """Score-map size for an input tensor of ``nr`` x ``nc`` (<= 0: too small)."""
        for det in self.layers:
            if isinstance(det, ds.Conv):
                (kh, kw), (sy, sx), (py, px) = det.weight.shape[2:], det.stride, det.padding
                if nr < kh - 2 * py or nc < kw - 2 * px:
                    return 0, 0
                nr, nc = 1 + (nr + 2 * py - kh) // sy, 1 + (nc + 2 * px - kw) // sx
        return nr, nc

    def output_to_input(self) -> tuple[float, float]:
        """(scale, offset) with input = scale * output + offset, as ``map_output_to_input``."""
        scale, offset = 1.0, 0.0
        for det in reversed(self.layers):  # top of the network first
            if isinstance(det, ds.Conv):
                k, s, p = det.weight.shape[3], det.stride[1], det.padding[1]
                # p_in = p_out * s - pad + k // 2, composed from the top down
                scale, offset = scale * s, offset * s - p + k // 2
        return scale, offset


def _read_loss_mmod(r: ds.Reader, data: bytes) -> tuple[tuple[tuple[int, int], ...], float, float]:
    name = r.string()
    if name != "loss_mmod_":
        raise ds.DlibFormatError(f"expected loss_mmod_, found {name!r}")
    version = r.version((1, 2, 3, 4), "mmod_options")
    windows: list[tuple[int, int]] = []
    if version == 1:
        windows.append((r.unsigned(), r.unsigned()))
    else:
        for _ in range(r.unsigned()):
            wv = r.version((1, 2), "detector_window_details")
            w, h = r.unsigned(), r.unsigned()
            if wv == 2:
                r.string()  # label
            windows.append((w, h))
    r.real(), r.real(), r.real()  # loss per false alarm / missed target, truth match IoU
    nms_iou, nms_covered = r.real(), r.real()
    r.real(), r.real()  # overlaps_ignore
    if version >= 3:
        assume_pyramid = data[r.pos]  # a uint8, written as one raw byte
        r.pos += 1
        if assume_pyramid != 1:
            raise ds.DlibFormatError("only image-pyramid MMOD detectors are supported")
    if version >= 4:
        use_bbr = r.boolean()
        r.real()  # bbr_lambda
        if use_bbr:
            raise ds.DlibFormatError("bounding-box regression is not supported")
    return tuple(windows), nms_iou, nms_covered


def read_mmod_net(data: bytes) -> MmodNet:
    """Parse ``serialize(net)`` of dlib's ``cnn_face_detection_model_v1`` network."""
    r = ds.Reader(data)
    r.version((1,), "add_loss_layer")
    windows, nms_iou, nms_covered = _read_loss_mmod(r, data)
    n = len(MMOD_SPEC)
    versions = [r.version((2, 3) if i == n - 1 else (1, 2), f"layer {i}") for i in range(n)]
    versions.reverse()  # written top-down; index 0 is now the layer on the input
    name = r.string()
    if name not in ("input_rgb_image_pyramid", "input_rgb_image_pyramid2"):
        raise ds.DlibFormatError(f"expected input_rgb_image_pyramid, found {name!r}")
    avg = (r.real(), r.real(), r.real())
    padding, outer = (r.unsigned(), r.unsigned()) if name.endswith("2") else (10, 11)
    layers: list[ds.Details] = []
    for i, kind in enumerate(MMOD_SPEC):
        det = ds.read_details(r)
        if not isinstance(det, kind):
            raise ds.DlibFormatError(f"layer {i}: expected {kind.__name__}, found {det!r}")
        for _ in range(3):  # setup_called, gradient_input_is_stale, output getters disabled
            r.boolean()
        r.tensor(), r.tensor()  # x_grad, cached_output
        if i == 0:
            r.tensor()  # grad_final
            if versions[0] >= 3:
                r.unsigned()  # sample_expansion_factor
        elif versions[i] == 2:
            r.tensor()  # params_grad
        layers.append(det)
    if r.remaining:
        raise ds.DlibFormatError(f"{r.remaining} bytes left after the network")
    last = layers[-1]
    if not isinstance(last, ds.Conv) or last.weight.shape[0] != len(windows):
        raise ds.DlibFormatError("the last layer must have one channel per detector window")
    return MmodNet(windows, nms_iou, nms_covered, avg, padding, outer, tuple(layers))


def build_onnx(net: MmodNet) -> Any:
    """The ONNX ``ModelProto``: pyramid tensor (1, 3, H, W) -> score map (1, K, h, w)."""
    g = _Graph()
    helper, tp = g.onnx.helper, g.onnx.TensorProto
    x = INPUT_NAME
    # Spatial sizes are dynamic; _conv only uses the channel count of this nominal shape.
    shape: tuple[int, ...] = (3, 1024, 1024)
    layers = net.layers
    i = 0
    while i < len(layers):
        det = layers[i]
        i += 1
        if isinstance(det, ds.Conv):
            nxt = layers[i] if i < len(layers) else None
            aff = nxt if isinstance(nxt, ds.Affine) and nxt.conv_mode and not det.relu else None
            i += 1 if aff is not None else 0
            x, shape = _conv(g, x, shape, det, aff)
        elif isinstance(det, ds.Relu):
            x = g.op("Relu", [x])
        elif isinstance(det, ds.Affine):
            if not det.disabled:
                pshape = (1, shape[0], 1, 1)
                x = g.op("Mul", [x, g.const(det.gamma.reshape(pshape), "gamma")])
                x = g.op("Add", [x, g.const(det.beta.reshape(pshape), "beta")])
        else:
            raise ds.DlibFormatError(f"no ONNX mapping for {det!r}")
    g.nodes[-1].output[0] = OUTPUT_NAME
    return g.to_model(
        "mmod_human_face_detector",
        [helper.make_tensor_value_info(INPUT_NAME, tp.FLOAT, [1, 3, "H", "W"])],
        [helper.make_tensor_value_info(OUTPUT_NAME, tp.FLOAT, [1, len(net.windows), "h", "w"])],
        opset=OPSET,
        version=CONVERTER_VERSION,
    )


def cached_onnx(dat_path: Path, cache_dir: Path) -> Path:
    """The converted detector for ``dat_path`` under ``cache_dir``, converting if missing."""
    digest = file_digest(Path(dat_path))[:16]
    path = Path(cache_dir) / f"dlib_mmod_face-{digest}-c{CONVERTER_VERSION}.onnx"
    if path.is_file():
        return path
    t0 = time.perf_counter()
    data = build_onnx(read_mmod_net(Path(dat_path).read_bytes())).SerializeToString()
    write_atomic(path, data)
    log.info("converted %s -> %s in %.2f s", dat_path, path, time.perf_counter() - t0)
    return path


@dataclass(frozen=True)
class MmodBox:
    """One detection, in the coordinates of the image given to the detector."""

    rect: mp.Rect  # (left, top, right, bottom), inclusive, like dlib.rectangle
    confidence: float


class OnnxMmodDetector:
    """dlib's CNN face detector (MMOD), network run by onnxruntime; boxes only.

    ``__call__(image, upsample)`` returns what ``dlib.cnn_face_detection_model_v1`` does:
    boxes sorted by confidence, best first. ``threshold`` is the score a window must exceed
    (dlib's is 0). The onnxruntime session is thread-safe; so is this object.
    """

    def __init__(
        self,
        cache_dir: Path,
        *,
        weights: Path | None = None,
        threshold: float = 0.0,
        intra_op_num_threads: int = 1,
    ) -> None:
        import onnxruntime as ort

        path = Path(weights) if weights is not None else weights_path("mmod")
        self.net = read_mmod_net(path.read_bytes())
        self.onnx_path = cached_onnx(path, cache_dir)
        self.model_digest = file_digest(path)[:16]
        self.threshold = threshold
        self._scale, self._offset = self.net.output_to_input()
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = intra_op_num_threads
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(
            str(self.onnx_path), sess_options=opts, providers=["CPUExecutionProvider"]
        )

    def layout(self, nr: int, nc: int) -> mp.PyramidLayout:
        return mp.tiled_layout(
            nr, nc, padding=self.net.padding, outer_padding=self.net.outer_padding
        )

    def score_map(
        self, image: RGBImage, layout: mp.PyramidLayout | None = None
    ) -> npt.NDArray[np.float32]:
        """The network's output (K, h, w) on the tiled pyramid of an RGB uint8 ``image``."""
        if layout is None:
            layout = self.layout(*image.shape[:2])
        tensor = mp.build_tiled_pyramid(np.asarray(image, np.uint8), self.net.avg, layout)
        out = self._session.run([OUTPUT_NAME], {INPUT_NAME: tensor})[0]
        return np.asarray(out[0], dtype=np.float32)

    def __call__(self, image: RGBImage, upsample: int = 0) -> list[MmodBox]:
        img = np.asarray(image)
        if img.ndim == 2:
            img = np.repeat(img[:, :, None], 3, axis=2)
        if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f"expected an RGB uint8 image, got {img.dtype} {img.shape}")
        if min(img.shape[:2]) == 0:
            return []
        for _ in range(upsample):
            img = mp.pyramid_up2(img)
        layout = self.layout(*img.shape[:2])
        if min(self.net.output_size(layout.nr, layout.nc)) <= 0:
            return []  # smaller than the network's input window: nothing to find
        scores = self.score_map(img, layout)
        cand: list[tuple[float, int, int, int]] = []
        ks, rs, cs = np.nonzero(scores > self.threshold)
        for k, r, c in zip(ks.tolist(), rs.tolist(), cs.tolist(), strict=True):
            cand.append((float(scores[k, r, c]), k, r, c))
        cand.sort(key=lambda t: -t[0])
        boxes: list[tuple[mp.Rect, float]] = []
        for score, k, r, c in cand:
            w, h = self.net.windows[k]
            px, py = self._scale * c + self._offset, self._scale * r + self._offset
            hw, hh = (w - 1) / 2, (h - 1) / 2  # centered_drect
            drect = mp.tensor_to_image(layout, (px - hw, py - hh, px + hw, py + hh))
            boxes.append((mp.to_rect(drect), score))
        kept = mp.suppress(boxes, self.net.nms_iou, self.net.nms_covered)
        return [MmodBox(mp.rect_down2(rect, upsample), score) for rect, score in kept]


def default_cache_dir() -> Path:
    return Path.home() / ".fortify" / "models"


Boxes = list[tuple[mp.Rect, float]]


class MmodFaceDetector(DlibFaceDetector):
    """dlib's CNN face detector (via ONNX) + 5-landmark shape predictor + aligned chips.

    Same constructor keywords and ``detect`` contract as :class:`DlibFaceDetector`.
    ``upsample`` is dlib's ``upsample_num_times`` for the CNN (each doubles the image; the
    network finds faces from about 80 px wide, or 40 px with one upsampling; default
    :attr:`default_upsample`). Images are first scaled down to ``max_side`` (long side), as
    for HOG. ``hog_upsample`` is for the HOG stage(s) of :class:`CascadeFaceDetector`.
    """

    default_upsample = 0

    def __init__(
        self,
        *,
        upsample: int | None = None,
        max_side: int = 1280,
        min_face_px: int = 40,
        min_sharpness: float = 15.0,
        min_brightness: float = 35.0,
        max_brightness: float = 225.0,
        cache_dir: Path | None = None,
        threshold: float = 0.0,
        intra_op_num_threads: int = 1,
        hog_upsample: int | Sequence[int] = 1,
    ) -> None:
        hog_stages = (hog_upsample,) if isinstance(hog_upsample, int) else tuple(hog_upsample)
        super().__init__(
            upsample=hog_stages[-1] if hog_stages else 1,
            max_side=max_side,
            min_face_px=min_face_px,
            min_sharpness=min_sharpness,
            min_brightness=min_brightness,
            max_brightness=max_brightness,
        )
        self.hog_stages = hog_stages
        self.cnn_upsample = self.default_upsample if upsample is None else upsample
        self.cnn = OnnxMmodDetector(
            cache_dir if cache_dir is not None else default_cache_dir(),
            threshold=threshold,
            intra_op_num_threads=intra_op_num_threads,
        )

    def detect(self, image: RGBImage) -> list[Detection]:
        return self._detect_with(image, self._cnn_boxes)

    def _cnn_boxes(self, small: RGBImage) -> Boxes:
        return [(b.rect, b.confidence) for b in self.cnn(small, self.cnn_upsample)]

    def _hog_boxes(self, small: RGBImage, upsample: int) -> Boxes:
        with self._lock:
            rects, scores, _ = self._detector.run(small, upsample, 0.0)
        return [
            ((r.left(), r.top(), r.right(), r.bottom()), float(s))
            for r, s in zip(rects, scores, strict=True)
        ]

    def _detect_with(self, image: RGBImage, find: Callable[[RGBImage], Boxes]) -> list[Detection]:
        """``DlibFaceDetector.detect`` with another box finder: scale, find, align, assess."""
        h, w = image.shape[:2]
        scale = min(1.0, self.max_side / max(h, w))
        small = image
        if scale < 1.0:
            size = (round(w * scale), round(h * scale))
            small = np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA))
        boxes = find(small)
        found: list[Detection] = []
        with self._lock:
            for rect, score in boxes:
                left, top, right, bottom = (round(v / scale) for v in rect)
                full = self._dlib.rectangle(left, top, right, bottom)
                shape = self._shapes(image, full)
                chip = self._dlib.get_face_chip(image, shape, size=CHIP_SIZE, padding=CHIP_PADDING)
                found.append(self._detection(full, score, shape, chip, w, h))
        found.sort(key=lambda d: (d.bbox.x, d.bbox.y))
        return found


class CascadeFaceDetector(MmodFaceDetector):
    """HOG first; dlib's CNN (``upsample``) only when HOG finds no face.

    ``hog_upsample`` is one HOG upsampling (default 1: as today) or a sequence tried in
    turn, e.g. ``(0, 1)``: HOG without upsampling finds the larger faces in a third of the
    time, HOG upsample 1 the smaller ones (at the cost of not looking for a second, smaller
    face when a large one is found). As fast as HOG on most photos; the CNN's recall on the
    rest. Confidences are HOG or MMOD scores depending on which stage found the face. The
    CNN upsamples once by default: the faces HOG misses are mostly the small ones.
    """

    default_upsample = 1

    def detect(self, image: RGBImage) -> list[Detection]:
        for up in self.hog_stages:
            found = self._detect_with(image, partial(self._hog_boxes, upsample=up))
            if found:
                return found
        log.debug("HOG found no face; trying the CNN detector")
        return self._detect_with(image, self._cnn_boxes)
