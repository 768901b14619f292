"""The face Engine behind the :class:`~fortify.modalities.base.Modality` interface."""

from __future__ import annotations

import numpy as np

from fortify.modalities.base import AcquireOptions, Acquisition
from fortify.modalities.face.engine import Engine
from fortify.types import FaceResult, Template


def face_acquisition(result: FaceResult, image: object = None) -> Acquisition:
    """A face engine result as a modality-neutral acquisition."""
    d = result.detection
    return Acquisition(
        template=result.template,
        quality=d.quality.to_dict(),
        box=d.bbox.as_list(),
        found=result.faces_found,
        warnings=tuple(d.quality.warnings),
        image=image,  # type: ignore[arg-type]
        detection=d,
    )


class FaceModality:
    """Face: detect -> align -> quality -> embedding; cosine scores from the index."""

    name = "face"
    search_shortlist = 0

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def model_spec(self) -> tuple[str, int]:
        return self.engine.model_spec()

    def index_factory(self, default: str) -> str:
        return default

    def prepare_files(self) -> None:
        """The converted model files, made once before worker processes start."""
        self.engine.prepare_files()

    def prepare(self) -> FaceModality:
        self.engine.prepare()
        return self

    def acquire(self, data: bytes, options: AcquireOptions) -> Acquisition:
        rgb = self.engine.load(data)
        result = self.engine.process(rgb, face=options.face, strict_quality=options.strict_quality)
        return face_acquisition(result, rgb)

    def acquire_all(self, data: bytes, options: AcquireOptions) -> list[Acquisition]:
        return [self.acquire(data, options)]

    def compare(self, a: Template, b: Template) -> float:
        return float(np.dot(a.vector, b.vector))

    def fuse(self, templates: list[Template]) -> list[Template]:
        """Several captures of one face: the normalised mean embedding."""
        if len(templates) == 1:
            return templates
        v = np.sum(np.stack([t.vector for t in templates]), axis=0)
        v = v / max(float(np.linalg.norm(v)), 1e-12)
        last = templates[-1]
        return [Template(v, last.model_id, last.model_version, last.model_digest)]
