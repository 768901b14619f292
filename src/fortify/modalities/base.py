"""Ports of a modality pipeline. Adapters live in the modality packages."""

from __future__ import annotations

from typing import Protocol

from fortify.imaging import RGBImage
from fortify.types import Detection, Template


class Detector(Protocol):
    """Finds faces. Implementations are reusable; callers serialise calls if not thread-safe."""

    def detect(self, image: RGBImage) -> list[Detection]: ...


class Extractor(Protocol):
    """Turns one detected face into a template."""

    model_id: str
    model_version: str
    model_digest: str
    dim: int

    def extract(self, image: RGBImage, detection: Detection) -> Template: ...

    def extract_chip(self, chip: RGBImage) -> Template: ...
