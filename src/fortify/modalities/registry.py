"""Modality name -> modality plug-in, built from Settings on first use.

The gallery asks the registry, never a concrete model. A new modality is one
folder under ``modalities/`` plus one entry in :data:`FACTORIES`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from fortify.config import Settings
from fortify.errors import InvalidInput
from fortify.modalities.base import Modality
from fortify.modalities.face.engine import Engine


def _face(settings: Settings, engine: Engine | None) -> Modality:
    from fortify.modalities.face.modality import FaceModality

    return FaceModality(engine or Engine(settings))


def _finger(settings: Settings, engine: Engine | None) -> Modality:
    from fortify.modalities.finger.engine import FingerModality

    return FingerModality(settings)


# Documents are an encounter capture, not a searchable modality (no 1:N template): see
# fortify.gallery.doc_capture for why they are not registered here.
FACTORIES: dict[str, Callable[[Settings, Engine | None], Modality]] = {
    "face": _face,
    "finger": _finger,
}


class Registry:
    """The modalities of one gallery (thread-safe; each built once)."""

    def __init__(self, settings: Settings, face_engine: Engine | None = None) -> None:
        self.settings = settings
        self._face_engine = face_engine
        self._built: dict[str, Modality] = {}
        self._lock = threading.Lock()

    @staticmethod
    def names() -> list[str]:
        return list(FACTORIES)

    def get(self, name: str) -> Modality:
        key = (name or "face").strip().lower()
        if key not in FACTORIES:
            raise InvalidInput(
                f"unknown modality '{name}'; one of: {', '.join(FACTORIES)}", modality=name
            )
        with self._lock:
            if key not in self._built:
                self._built[key] = FACTORIES[key](self.settings, self._face_engine)
            return self._built[key]
