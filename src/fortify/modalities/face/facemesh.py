"""Five alignment points from MediaPipe's face mesh (Apache-2.0), run by OpenCV's DNN module.

The face-mesh landmark model (Kartynnik et al., "Real-time Facial Surface Geometry from
Monocular Video on Mobile GPUs", CVPR workshops 2019) regresses 468 points of the face's
surface from a 192x192 crop. Its TFLite file ships in the ``mediapipe`` wheel
(``mediapipe/modules/face_landmark/face_landmark.tflite``, SHA-256 pinned in
:mod:`~fortify.modalities.face.weights`); only the file is used, read by
``cv2.dnn.readNetFromTFLite`` (so no second runtime is needed).

The crop is cut around the face's current five points (the mean of the detector's and
dlib's, the crop EdgeFace v1 used), with the ArcFace template shrunk to 0.7 so the whole
face and some margin are in view. From the mesh come the five ArcFace-order points: each
eye's centre (the mean of its two corners and its upper and lower lid points), the nose
tip and the two mouth corners. On the dev photos EdgeFace aligned from these points
misses fewer people than from the detector's points, dlib's, or their mean, for every
seed tried and most for older people (``bench/bench_edgeface.py``, docs/accuracy.md).
"""

from __future__ import annotations

import threading
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from fortify.imaging import RGBImage
from fortify.modalities.face.arcface_onnx import ARCFACE_TEMPLATE_112, align_with_matrix
from fortify.modalities.face.weights import file_digest, zoo_model_path

SIZE = 192
ZOOM = 0.7
"""The ArcFace template's scale inside the mesh crop (1 would be the tight 112 crop)."""

# mesh indices (MediaPipe's canonical face model): image-left eye = the subject's right
RIGHT_EYE = (33, 133, 159, 145)  # outer corner, inner corner, upper lid, lower lid
LEFT_EYE = (362, 263, 386, 374)
NOSE_TIP = 1
MOUTH = (61, 291)

Points = npt.NDArray[np.float64]


class FaceMesh:
    """The face-mesh landmark model; :meth:`five_points` refines a face's five points."""

    def __init__(self) -> None:
        path = zoo_model_path("facemesh")
        self.digest = file_digest(path)[:16]
        self._net: Any = cv2.dnn.readNetFromTFLite(str(path))
        self._outputs = self._net.getUnconnectedOutLayersNames()
        self._lock = threading.Lock()

    def mesh(self, image: RGBImage, points: Points) -> tuple[Points, float]:
        """The 468 mesh points (x, y in ``image``) of the face at ``points`` (five,
        ArcFace order), and the model's face-presence logit."""
        crop, m = align_with_matrix(
            image, np.asarray(points, np.float64), ARCFACE_TEMPLATE_112, SIZE, ZOOM
        )
        blob = (crop.astype(np.float32) / 255.0).transpose(2, 0, 1)[None]
        with self._lock:
            self._net.setInput(np.ascontiguousarray(blob))
            out = self._net.forward(self._outputs)
        by_size = {o.size: o for o in out}
        xy = np.asarray(by_size[468 * 3], np.float64).reshape(468, 3)[:, :2]
        inv = cv2.invertAffineTransform(m)
        return xy @ inv[:, :2].T + inv[:, 2], float(np.asarray(by_size[1]).ravel()[0])

    def five_points(self, image: RGBImage, points: Points) -> Points:
        """The five ArcFace-order points (eye centres, nose tip, mouth corners) from the mesh."""
        xy, _ = self.mesh(image, points)
        return np.stack(
            [
                xy[list(RIGHT_EYE)].mean(axis=0),
                xy[list(LEFT_EYE)].mean(axis=0),
                xy[NOSE_TIP],
                xy[MOUTH[0]],
                xy[MOUTH[1]],
            ]
        )
