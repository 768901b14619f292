"""Domain nouns: Image -> Detection -> Template -> Candidate. All immutable."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class BBox:
    """Axis-aligned face box in pixels of the original (un-scaled) image."""

    x: int
    y: int
    w: int
    h: int

    @property
    def area(self) -> int:
        return self.w * self.h

    def as_list(self) -> list[int]:
        return [self.x, self.y, self.w, self.h]


@dataclass(frozen=True, slots=True)
class Quality:
    """Image-quality measures of one face and the problems they show."""

    face_px: int
    sharpness: float
    brightness: float
    warnings: tuple[str, ...] = ()

    @property
    def acceptable(self) -> bool:
        return not self.warnings

    def to_dict(self) -> dict[str, Any]:
        return {
            "face_px": self.face_px,
            "sharpness": round(self.sharpness, 1),
            "brightness": round(self.brightness, 1),
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True, slots=True)
class Detection:
    """One face found in an image: box, detector confidence and 5 landmarks."""

    bbox: BBox
    confidence: float
    landmarks: tuple[tuple[float, float], ...]
    quality: Quality
    chip: npt.NDArray[np.uint8] | None = field(default=None, repr=False, compare=False)
    """Aligned face crop (150x150 RGB) the template is computed from."""
    dlib_points: tuple[tuple[float, float], ...] | None = None
    """The ArcFace-order five points estimated from dlib's 5-point predictor (YuNet
    detector), where ``landmarks`` are the detector's own; SFace can be aligned from
    either (:class:`~fortify.modalities.face.sface.SFaceExtractor`)."""


@dataclass(frozen=True, slots=True)
class Template:
    """A biometric template: an L2-normalised embedding plus the model that made it.

    Scores between templates are cosine similarities in [-1, 1]; see
    :mod:`fortify.matching` for what a score means in false-match-rate terms.
    """

    vector: FloatArray
    model_id: str
    model_version: str
    model_digest: str = ""
    modality: str = "face"
    finger_position: int = 0
    """ISO/IEC 19794-2 finger code 1-10, 0 = unknown or not a finger."""
    payload: bytes = field(default=b"", repr=False)
    """Modality data besides the index vector (finger: the minutiae record)."""

    def __post_init__(self) -> None:
        v = np.ascontiguousarray(self.vector, dtype=np.float32).reshape(-1)
        v.setflags(write=False)
        object.__setattr__(self, "vector", v)

    @property
    def dim(self) -> int:
        return int(self.vector.shape[0])

    def to_bytes(self) -> bytes:
        from fortify.templates.codec import encode

        return encode(self)

    @classmethod
    def from_bytes(cls, data: bytes) -> Template:
        from fortify.templates.codec import decode

        return decode(data)


@dataclass(frozen=True, slots=True)
class FaceResult:
    """A probe or enrolment image turned into a template."""

    template: Template
    detection: Detection
    faces_found: int


@dataclass(frozen=True, slots=True)
class Candidate:
    """One ranked lead in a search result (never a determination)."""

    rank: int
    identity_id: str
    reference: str
    display_name: str | None
    synthetic: bool
    source: str
    score: float
    matched_sample_id: str
    photo_sample_id: str | None
    samples_compared: int
    attributes: dict[str, Any] = field(default_factory=dict)
