"""Ports of a modality pipeline. Adapters live in the modality packages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

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


@runtime_checkable
class BatchExtractor(Extractor, Protocol):
    """An extractor that embeds several chips in one model call (a face and its mirror)."""

    def unit_vectors(self, chips: Any) -> Any:
        """Unit template vectors (N, dim) of N chips, each equal to ``extract_chip``'s."""
        ...


# --- the modality plug-in interface -----------------------------------------------------------
FINGER_POSITIONS: dict[str, int] = {
    "unknown": 0,
    "right-thumb": 1,
    "right-index": 2,
    "right-middle": 3,
    "right-ring": 4,
    "right-little": 5,
    "left-thumb": 6,
    "left-index": 7,
    "left-middle": 8,
    "left-ring": 9,
    "left-little": 10,
}
"""ISO/IEC 19794-2 finger position codes (0 = unknown)."""
SLAP_POSITIONS: dict[str, int] = {"right-four": 13, "left-four": 14}
"""ISO/IEC 19794-4 multi-finger codes: plain right / left four fingers (a slap). A
search with one is split into its fingertips (``modalities/finger/slap.py``)."""


def finger_position(value: str | int | None) -> int:
    """A finger position name (``right-index``, ``right-four``) or ISO code -> the code.

    Codes 0-10 are single fingers; 13 and 14 the four fingers of a hand (searches only).
    """
    from fortify.errors import InvalidInput

    names = {**FINGER_POSITIONS, **SLAP_POSITIONS}
    if value is None or value == "":
        return 0
    if isinstance(value, int) or str(value).isdigit():
        code = int(value)
        if 0 <= code <= 10 or code in SLAP_POSITIONS.values():
            return code
        raise InvalidInput(f"finger position code must be 0-10, 13 or 14, not {code}")
    key = str(value).strip().lower().replace("_", "-").replace(" ", "-")
    if key not in names:
        raise InvalidInput(f"unknown finger position '{value}'; one of: " + ", ".join(names))
    return names[key]


def finger_name(code: int) -> str:
    for name, c in {**FINGER_POSITIONS, **SLAP_POSITIONS}.items():
        if c == code:
            return name
    return "unknown"


@dataclass(frozen=True)
class AcquireOptions:
    """What the caller says about a capture; each modality reads what concerns it."""

    strict_quality: bool = False
    """Enrolment: refuse any quality warning (probes travel with their warnings)."""
    face: int | Literal["largest"] | None = None
    """Face: which face when several are found."""
    finger_position: int = 0
    """Finger: ISO finger code (0 = unknown)."""


@dataclass(frozen=True)
class Acquisition:
    """One capture turned into a template, with what was found and how good it is."""

    template: Template
    quality: dict[str, Any]
    box: list[int]
    found: int = 1
    """Faces found (face) or finger areas found (finger)."""
    warnings: tuple[str, ...] = ()
    image: RGBImage | None = field(default=None, repr=False, compare=False)
    """The decoded image (kept as the probe/sample photo where policy allows)."""
    detection: Detection | None = field(default=None, repr=False, compare=False)

    @property
    def modality(self) -> str:
        return self.template.modality


class Modality(Protocol):
    """A biometric modality plug-in: ``modalities/<name>/`` provides one of these.

    The gallery only talks to modalities through this interface (and the
    registry), so purpose, audit, retention, opt-out and oversight have one path.
    """

    name: str
    search_shortlist: int
    """0: index scores are final (face cosine). >0: the index preselects this many
    templates and :meth:`compare` re-ranks them (finger minutiae matching)."""

    def model_spec(self) -> tuple[str, int]:
        """(model id, index vector dimension), known without loading models."""
        ...

    def index_factory(self, default: str) -> str:
        """The index factory string for this modality's templates (``default``: settings')."""
        ...

    def prepare(self) -> Modality:
        """Load models (idempotent)."""
        ...

    def acquire(self, data: bytes, options: AcquireOptions) -> Acquisition:
        """Decode, detect/segment, check quality and make the template."""
        ...

    def acquire_all(self, data: bytes, options: AcquireOptions) -> list[Acquisition]:
        """One upload -> its captures: one, or one per finger of a four-finger slap."""
        ...

    def compare(self, a: Template, b: Template) -> float:
        """1:1 score of two templates of this modality (higher = more alike)."""
        ...

    def fuse(self, templates: list[Template]) -> list[Template]:
        """Captures of one person -> the probes to rank (one fused template, or each)."""
        ...


@runtime_checkable
class PreparesFiles(Protocol):
    """A modality whose models are converted into a file cache on first use.

    Bulk runs call :meth:`prepare_files` once in the parent before starting worker
    processes, so the workers do not all convert the same models at once.
    """

    def prepare_files(self) -> None: ...
