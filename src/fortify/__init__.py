"""Fortify: accountable biometric identification.

The public facade (see :mod:`fortify.api`) is small::

    import fortify
    img = fortify.load_image("probe.jpg")
    faces = fortify.detect(img)
    t = fortify.extract(img)             # one template (exactly one face)
    fortify.compare(t, t2)               # cosine score

Nothing heavy is imported or loaded until a function is called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "Engine",
    "Settings",
    "Template",
    "__version__",
    "compare",
    "detect",
    "enroll",
    "extract",
    "identify",
    "load_image",
]

if TYPE_CHECKING:
    from fortify.api import compare, detect, enroll, extract, identify, load_image
    from fortify.config import Settings
    from fortify.modalities.face.engine import Engine
    from fortify.types import Template


def __getattr__(name: str) -> Any:
    if name in {"compare", "detect", "enroll", "extract", "identify", "load_image"}:
        from fortify import api

        return getattr(api, name)
    if name == "Engine":
        from fortify.modalities.face.engine import Engine

        return Engine
    if name == "Settings":
        from fortify.config import Settings

        return Settings
    if name == "Template":
        from fortify.types import Template

        return Template
    raise AttributeError(f"module 'fortify' has no attribute {name!r}")
