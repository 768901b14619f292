"""The face Engine: holds the detector and extractor; construct, then ``prepare()``.

Nothing is loaded at construction or import time. A prepared Engine is reusable
and safe to share between threads (model calls are serialised inside adapters).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any, Literal

import numpy as np

from fortify.config import Settings
from fortify.errors import ConfigError, ModelUnavailable, MultipleFaces, NoFaceFound, QualityTooLow
from fortify.imaging import RGBImage, load_image
from fortify.modalities.base import Extractor
from fortify.modalities.face.dlib_backend import DlibFaceDetector, DlibResNetExtractor
from fortify.modalities.face.turn import turned_detections
from fortify.modalities.face.weights import weights_path
from fortify.types import Detection, FaceResult, Template

log = logging.getLogger(__name__)

FacePick = int | Literal["largest"] | None

SHIPPED_MODELS: dict[str, tuple[int, bool, bool]] = {
    "edgeface-s-v2": (512, False, False),
    "edgeface-s-v1": (512, False, False),
    "fused-dlib-sface-v2": (256, True, True),
    "fused-dlib-sface-v1": (256, True, True),
    "dlib-resnet-v1": (128, True, False),
    "sface-2021dec": (128, False, True),
}
"""Shipped face models: id -> (template dimension, runs dlib's ResNet, runs SFace); the two
flags say which converted files :meth:`Engine.prepare_files` builds in the model cache."""


def choose_face(detections: list[Detection], face: FacePick) -> Detection:
    """Pick the face to use: exactly one unless ``face`` is an index or ``"largest"``."""
    if not detections:
        raise NoFaceFound("no face found in the image")
    if face is None:
        if len(detections) > 1:
            raise MultipleFaces(
                f"{len(detections)} faces found; pick one (face index or 'largest')",
                faces=[d.bbox.as_list() for d in detections],
            )
        return detections[0]
    if face == "largest":
        return max(detections, key=lambda d: d.bbox.area)
    if not 0 <= face < len(detections):
        raise NoFaceFound(
            f"face index {face} out of range: {len(detections)} face(s) found",
            faces=[d.bbox.as_list() for d in detections],
        )
    return detections[face]


class Engine:
    """Face pipeline: detect -> landmarks/align -> quality -> template."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self._detector: DlibFaceDetector | None = None
        self._extractor: Extractor | None = None
        self._lock = threading.Lock()

    def prepare(self) -> Engine:
        """Load the models (idempotent)."""
        with self._lock:
            if self._extractor is None:
                self._detector = self._make_detector()
                self._extractor = self._make_extractor()
                log.info("face engine ready: %s", self._extractor.model_version)
        return self

    def prepare_files(self) -> None:
        """Build the converted model files this configuration needs in the model cache.

        Loads no model. Call it once before starting worker processes: each worker's
        :meth:`prepare` then finds the files ready instead of every worker converting
        the same models at the same time (about 4 s of a short bulk run on a fresh home).
        """
        s = self.settings
        cache = s.home / "models"
        try:
            if s.detector != "hog":
                from fortify.modalities.face import mmod_onnx

                mmod_onnx.cached_onnx(weights_path("mmod"), cache)
            _, uses_dlib, uses_sface = SHIPPED_MODELS.get(s.face_model, (0, False, False))
            if s.embed_runtime == "onnx" and uses_dlib:
                from fortify.modalities.face import dlib_onnx

                dlib_onnx.cached_onnx(weights_path("resnet"), cache)
            if uses_sface:
                from fortify.modalities.face.sface import prepare_sface

                prepare_sface(cache)
        except ImportError as exc:  # onnx missing: prepare() falls back per model
            log.warning("model files not prepared (%s)", exc)

    def _make_detector(self) -> DlibFaceDetector:
        s = self.settings
        quality = {
            "max_side": s.max_detect_side,
            "min_face_px": s.min_face_px,
            "min_sharpness": s.min_sharpness,
            "min_brightness": s.min_brightness,
            "max_brightness": s.max_brightness,
        }
        if s.detector != "hog":
            try:
                from fortify.modalities.face.mmod_onnx import (
                    CascadeFaceDetector,
                    MmodFaceDetector,
                )
                from fortify.modalities.face.yunet import YuNetFaceDetector

                hog_up: int | tuple[int, ...] = (
                    (0, s.detector_upsample)
                    if s.cascade_fast and s.detector_upsample > 0
                    else s.detector_upsample
                )
                common: dict[str, Any] = {
                    "upsample": s.cnn_upsample,
                    "hog_upsample": hog_up,
                    "cache_dir": s.home / "models",
                    **quality,
                }
                if s.detector == "yunet":
                    return YuNetFaceDetector(
                        score_threshold=s.yunet_score_threshold, threads=s.embed_threads, **common
                    )
                cls = CascadeFaceDetector if s.detector == "cascade" else MmodFaceDetector
                return cls(**common)
            except ImportError as exc:  # onnx/onnxruntime missing
                log.warning("onnxruntime unavailable (%s); using the HOG face detector", exc)
        return DlibFaceDetector(upsample=s.detector_upsample, **quality)  # type: ignore[arg-type]

    def model_spec(self) -> tuple[str, int]:
        """(model id, template dimension) of the configured embedder.

        Known without loading anything, except for an operator-provided ONNX model.
        """
        s = self.settings
        if s.face_model in SHIPPED_MODELS:
            return s.face_model, SHIPPED_MODELS[s.face_model][0]
        ex = self.extractor
        return ex.model_id, ex.dim

    def _make_extractor(self) -> Extractor:
        s = self.settings
        if s.face_model.startswith("edgeface-"):
            from fortify.modalities.face.edgeface import EdgeFaceExtractor

            return EdgeFaceExtractor(intra_op_num_threads=s.embed_threads, model_id=s.face_model)
        if s.face_model == "sface-2021dec" or s.face_model.startswith("fused-dlib-sface-"):
            from fortify.modalities.face.fused import MODELS, FusedExtractor
            from fortify.modalities.face.sface import SFaceExtractor

            sface = SFaceExtractor(
                s.home / "models",
                intra_op_num_threads=s.embed_threads,
                points=MODELS.get(s.face_model, "detector"),
            )
            if s.face_model == "sface-2021dec":
                return sface
            return FusedExtractor(
                self._dlib_extractor(), sface, flip=s.flip_average, model_id=s.face_model
            )
        if s.face_model == "onnx":
            from fortify.modalities.face.arcface_onnx import ArcFaceOnnxExtractor

            if s.face_model_path is None:
                raise ConfigError("face_model 'onnx' needs FORTIFY_FACE_MODEL_PATH")
            return ArcFaceOnnxExtractor(s.face_model_path, intra_op_num_threads=s.embed_threads)
        return self._dlib_extractor()

    def _dlib_extractor(self) -> Extractor:
        s = self.settings
        if s.embed_runtime == "onnx":
            try:
                from fortify.modalities.face.dlib_onnx import OnnxDlibExtractor

                return OnnxDlibExtractor(s.home / "models", intra_op_num_threads=s.embed_threads)
            except ImportError as exc:  # onnx/onnxruntime missing: same model via dlib
                log.warning("onnxruntime unavailable (%s); using dlib for embeddings", exc)
        return DlibResNetExtractor()

    @property
    def detector(self) -> DlibFaceDetector:
        if self._detector is None:
            self.prepare()
        if self._detector is None:  # pragma: no cover - prepare() always sets it
            raise ModelUnavailable("face engine failed to prepare")
        return self._detector

    @property
    def extractor(self) -> Extractor:
        if self._extractor is None:
            self.prepare()
        if self._extractor is None:  # pragma: no cover - prepare() always sets it
            raise ModelUnavailable("face engine failed to prepare")
        return self._extractor

    @property
    def model_id(self) -> str:
        return self.model_spec()[0]

    def load(self, source: str | Path | bytes) -> RGBImage:
        s = self.settings
        return load_image(
            source,
            max_bytes=s.max_upload_bytes,
            max_pixels=s.max_image_pixels,
            max_decode_pixels=s.max_probe_pixels,
            max_side=s.max_decode_side,
        )

    def detect(self, image: RGBImage) -> list[Detection]:
        return self.detector.detect(image)

    def extract(self, image: RGBImage, detection: Detection) -> Template:
        ex = self.extractor
        if getattr(ex, "flips_itself", False):  # fused: flip per component
            return ex.extract(image, detection)
        crop = getattr(ex, "crop", None)  # models with their own alignment: crop once
        if crop is not None:
            chip = crop(image, detection)
            t = ex.extract_chip(chip)
        else:
            chip = detection.chip
            t = ex.extract(image, detection)
        if self.settings.flip_average and chip is not None:
            m = self.extractor.extract_chip(np.ascontiguousarray(chip[:, ::-1]))
            v = t.vector + m.vector
            v = v / max(float(np.linalg.norm(v)), 1e-12)
            t = Template(v, t.model_id, t.model_version, t.model_digest)
        return t

    def process(
        self, image: RGBImage, *, face: FacePick = None, strict_quality: bool = False
    ) -> FaceResult:
        """One template from one image.

        ``strict_quality`` (enrolment) refuses any quality warning; probes are
        refused only when the face is too small to be useful, otherwise the
        warnings travel with the result. With ``face="largest"``, a largest detection
        the model cannot use (:meth:`recognisable_template`) gives way to the next largest
        that it can: a box on a hat or a hand is not the largest face.
        """
        detections = self.detect(image)
        chosen = self._checked(choose_face(detections, face), strict_quality)
        try:
            template, used = self.recognisable_template(image, chosen)
        except QualityTooLow:
            other = None
            if face == "largest":
                other = self._next_largest(image, detections, chosen, strict_quality)
            if other is None:
                raise
            template, used = other
        return FaceResult(template=template, detection=used, faces_found=len(detections))

    def _next_largest(
        self, image: RGBImage, detections: list[Detection], refused: Detection, strict: bool
    ) -> tuple[Template, Detection] | None:
        """The largest other detection with a usable template (no turned copies tried)."""
        for d in sorted(detections, key=lambda d: d.bbox.area, reverse=True):
            if d is refused or (strict and d.quality.warnings):
                continue
            if "face_too_small" in d.quality.warnings:
                continue
            t = self.extract(image, d)
            if self.usable(t):
                return t, d
        return None

    def null_similarity(self, template: Template) -> float | None:
        """The template's cosine with the model's null template (a featureless crop's), for
        models that define one (EdgeFace); ``None`` for the others."""
        null = getattr(self.extractor, "null_vector", None)
        if null is None:
            return None
        return float(np.dot(template.vector, null))

    def usable(self, template: Template) -> bool:
        """False for a template too close to the model's null template (its crop holds no
        recognisable face); True for the others and for models without one."""
        sim = self.null_similarity(template)
        return sim is None or sim <= float(getattr(self.extractor, "null_max", 1.0))

    def recognisable_template(
        self, image: RGBImage, detection: Detection
    ) -> tuple[Template, Detection]:
        """The template of ``detection``, and the detection it was made from.

        Where the model defines a null template and this one is too close to it (the crop
        holds no recognisable face), the face is looked for again in quarter-turned copies
        of the image (:mod:`~fortify.modalities.face.turn`); if none gives a usable
        template, :class:`QualityTooLow` (``face_unrecognizable``) is raised rather than a
        template that would match other unusable captures.
        """
        t = self.extract(image, detection)
        if self.usable(t):
            return t, detection
        for turned in turned_detections(image, detection, self.detect):
            t2 = self.extract(image, turned)
            if self.usable(t2):
                return t2, turned
        sim = self.null_similarity(t) or 0.0
        raise QualityTooLow(
            "no recognisable face: the aligned face looks like a featureless image"
            " (turned away or on its side, covered, or not a face); retake it upright",
            warnings=["face_unrecognizable"],
            quality={**detection.quality.to_dict(), "null_similarity": round(sim, 3)},
        )

    def acquire(
        self, image: RGBImage, *, face: FacePick = None, strict_quality: bool = False
    ) -> tuple[Detection, int]:
        """The detection a template is made from (see :meth:`process`) and the face count."""
        detections = self.detect(image)
        return self._checked(choose_face(detections, face), strict_quality), len(detections)

    @staticmethod
    def _checked(chosen: Detection, strict_quality: bool) -> Detection:
        warnings = chosen.quality.warnings
        if (strict_quality and warnings) or "face_too_small" in warnings:
            raise QualityTooLow(
                "face image quality too low: " + ", ".join(warnings),
                warnings=list(warnings),
                quality=chosen.quality.to_dict(),
            )
        return chosen
