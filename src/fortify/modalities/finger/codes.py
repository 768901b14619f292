"""Local minutia codes: the fingerprint's index vector, searched by voting.

Each valid minutia cylinder (``mcc.CYLINDER_DIM`` values, rotation and translation
invariant) is projected on the leading principal axes of cylinders of real prints
(``models/finger_cylinder_pca.npz``, made by ``scripts/train_finger_codes.py``
from FVC2002 DB1-4_B) and normalised. The template's vector is
``ROWS`` such rows (empty rows all zero), searched by
:class:`fortify.index.vote.SetVoteIndex`.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt

from fortify.errors import ModelUnavailable
from fortify.modalities.finger import mcc

F32 = npt.NDArray[np.float32]
ROWS = 60
"""Codes per print (the best minutiae, as many as a template keeps by default)."""
CODE_DIM = 64
WIDTH = CODE_DIM
VECTOR_DIM = ROWS * WIDTH
MODEL_FILE = "finger_cylinder_pca.npz"
_lock = threading.Lock()


def projection_path() -> Path:
    return Path(str(resources.files("fortify") / "models" / MODEL_FILE))


@lru_cache(maxsize=1)
def projection() -> tuple[F32, F32]:
    """(mean cylinder, ``CYLINDER_DIM x CODE_DIM`` axes) of the shipped projection."""
    with _lock:
        path = projection_path()
        try:
            with np.load(path) as z:
                mean, axes = z["mean"].astype(np.float32), z["axes"].astype(np.float32)
        except (OSError, KeyError, ValueError) as exc:
            raise ModelUnavailable(f"finger code projection {path} unreadable: {exc}") from exc
    if mean.shape != (mcc.CYLINDER_DIM,) or axes.shape != (mcc.CYLINDER_DIM, CODE_DIM):
        raise ModelUnavailable(f"finger code projection {path} has shape {axes.shape}")
    return mean, axes


def fit_projection(codes: F32) -> tuple[F32, F32]:
    """Principal axes of a sample of cylinder codes (``n x mcc.CYLINDER_DIM``)."""
    x = np.asarray(codes, np.float64)
    mean = x.mean(axis=0)
    _, _, vt = np.linalg.svd(x - mean, full_matrices=False)
    return mean.astype(np.float32), vt[:CODE_DIM].T.astype(np.float32)


def local_codes(c: mcc.Cylinders) -> F32:
    """The ``VECTOR_DIM`` index vector of a print's cylinders (row-major, see module)."""
    mean, axes = projection()
    out = np.zeros((ROWS, WIDTH), np.float32)
    keep = np.nonzero(c.valid)[0][:ROWS]
    if len(keep):
        y = (c.codes[keep] - mean) @ axes
        norm = np.linalg.norm(y, axis=1, keepdims=True)
        out[: len(keep)] = y / np.maximum(norm, 1e-9)
    return out.reshape(-1)


def index_factory(inner: str) -> str:
    """The set-index factory string for finger templates over ``inner`` (a FAISS one)."""
    return f"Set{ROWS}x{WIDTH},{inner}"
