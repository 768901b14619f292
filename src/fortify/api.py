"""Public functional facade over a lazily created default :class:`Engine` and :class:`Gallery`.

For services and tests, build your own ``Engine(settings)`` / ``Gallery(settings)``.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

from fortify.accountability.operators import Operator, local_operator
from fortify.config import Settings
from fortify.imaging import RGBImage
from fortify.imaging import load_image as _load_image
from fortify.modalities.face.engine import Engine, FacePick
from fortify.types import Detection, Template

_lock = threading.Lock()
_engine: Engine | None = None
_galleries: dict[str, Any] = {}


def _default_engine() -> Engine:
    global _engine
    with _lock:
        if _engine is None:
            _engine = Engine(Settings()).prepare()
        return _engine


def load_image(source: str | Path | bytes) -> RGBImage:
    """Decode a file or bytes into an RGB array, with size and format checks."""
    return _load_image(source)


def detect(image: RGBImage | str | Path | bytes) -> list[Detection]:
    """Every face in the image (box, landmarks, quality), left to right."""
    img = image if isinstance(image, np.ndarray) else load_image(image)
    return _default_engine().detect(img)


def extract(image: RGBImage | str | Path | bytes, face: FacePick = None) -> Template:
    """The template of the one face in the image (or of ``face``: index or "largest")."""
    img = image if isinstance(image, np.ndarray) else load_image(image)
    return _default_engine().process(img, face=face).template


def compare(a: Template, b: Template) -> float:
    """Cosine similarity of two templates of the same model (higher = more alike)."""
    if a.model_id != b.model_id:
        from fortify.errors import TemplateVersionMismatch

        raise TemplateVersionMismatch(f"cannot compare {a.model_id} with {b.model_id}")
    return float(np.dot(a.vector, b.vector))


def _gallery(settings: Settings | None) -> Any:
    from fortify.gallery import Gallery

    s = settings or Settings()
    key = str(s.home)
    with _lock:
        if key not in _galleries:
            _galleries[key] = Gallery(s, engine=_default_engine())
        return _galleries[key]


def enroll(
    image: str | Path | bytes,
    reference: str,
    *,
    source: str = "default",
    operator: Operator | None = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Enrol one photo into the gallery under ``settings.home`` (audited)."""
    g = _gallery(settings)
    r = g.enroll_image(
        image, reference=reference, source=source, operator=operator or local_operator()
    )
    return dict(r.to_dict())


def identify(
    image: str | Path | bytes,
    *,
    purpose: str,
    case_id: str | None = None,
    top_k: int = 10,
    operator: Operator | None = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Search the gallery (purpose required; audited). Returns leads, not identifications."""
    g = _gallery(settings)
    result: dict[str, Any] = g.identify(
        image,
        operator=operator or local_operator(),
        purpose=purpose,
        case_id=case_id,
        top_k=top_k,
        channel="library",
    )
    return result
