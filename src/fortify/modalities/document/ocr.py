"""Fortify's own OCR-B character recogniser for MRZ cells (a small CNN run by onnxruntime).

The weights (``models/mrz_ocrb.onnx``) are made by ``scripts/train_mrz_ocr.py`` from MRZ text
rendered in the OCR-B font (Debian ``fonts-ocr-b``) with photo-like degradations. Training and
inference cut character cells with the same :func:`cell_patches`, so what the network sees at
run time is what it learnt on.
"""

from __future__ import annotations

import hashlib
import logging
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

CLASSES = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ<"
PATCH_H = 32
PATCH_W = 24
MODEL_PATH = Path(__file__).resolve().parents[2] / "models" / "mrz_ocrb.onnx"

FloatArray = npt.NDArray[np.float32]


def normalise_line(gray: npt.NDArray[np.uint8] | FloatArray) -> FloatArray:
    """Ink-positive float image: 0 at the paper level, 1 at the ink level of this line."""
    g = gray.astype(np.float32)
    paper = float(np.percentile(g, 90))
    ink = float(np.percentile(g, 3))
    span = max(paper - ink, 8.0)
    out: FloatArray = np.clip((paper - g) / span, -0.5, 1.5).astype(np.float32)
    return out


def cell_patches(
    line: FloatArray, centers: npt.ArrayLike, top: float, bottom: float, pitch: float
) -> FloatArray:
    """Cut one ``PATCH_H x PATCH_W`` patch per character centre from a normalised line image.

    A cell spans 1.2 pitches around its centre and the character height plus 25% above and
    below; pixels outside the image read as paper (0).
    """
    cx = np.asarray(centers, dtype=np.float64)
    h = max(bottom - top, 2.0)
    y0 = top - 0.25 * h
    y1 = bottom + 0.25 * h
    half = 0.6 * pitch
    out = np.zeros((len(cx), PATCH_H, PATCH_W), np.float32)
    for i, c in enumerate(cx):
        sx = (2 * half) / PATCH_W
        sy = (y1 - y0) / PATCH_H
        m = np.array([[sx, 0, c - half], [0, sy, y0]], np.float64)
        out[i] = cv2.warpAffine(
            line,
            m,
            (PATCH_W, PATCH_H),
            flags=cv2.INTER_AREA | cv2.WARP_INVERSE_MAP
            if sx > 1
            else cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=0.0,
        )
    return out


class CharClassifier:
    """Runs the ONNX recogniser on batches of patches; returns class probabilities."""

    def __init__(self, path: Path = MODEL_PATH) -> None:
        import onnxruntime as ort

        if not path.exists():
            raise FileNotFoundError(f"MRZ OCR model missing: {path} (run scripts/train_mrz_ocr.py)")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        self._session = ort.InferenceSession(
            str(path), sess_options=opts, providers=["CPUExecutionProvider"]
        )
        self._input = self._session.get_inputs()[0].name
        self.digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]

    def probabilities(self, patches: FloatArray) -> FloatArray:
        if len(patches) == 0:
            return np.zeros((0, len(CLASSES)), np.float32)
        x = patches[:, None, :, :].astype(np.float32)
        (logits,) = self._session.run(None, {self._input: x})
        z = logits - logits.max(axis=1, keepdims=True)
        e = np.exp(z)
        probs: FloatArray = (e / e.sum(axis=1, keepdims=True)).astype(np.float32)
        return probs


@lru_cache(maxsize=1)
def default_classifier() -> CharClassifier:
    return CharClassifier()
