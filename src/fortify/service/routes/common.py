"""Helpers shared by routers."""

from __future__ import annotations

from fortify.errors import InvalidInput
from fortify.modalities.face.engine import FacePick
from fortify.service.schemas import ErrorResponse

ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorResponse} for code in (400, 401, 403, 404, 409, 413, 422, 503)
}

# the real rules, stated in the OpenAPI schema (and enforced before any work is done)
MAX_OFFSET = 1_000_000_000
MAX_SEQ = 2**62
FACE_PATTERN = r"^\s*(largest|[0-9]{1,3})?\s*$"
FACE_DESCRIPTION = "Empty: exactly one face; 'largest'; or a 0-based face index (0-999)."
PURPOSE_DESCRIPTION = (
    "Why this search is made (required): at least 3 visible characters, at most 500."
)
WHEN_PATTERN = (
    r"^\s*((000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?"
    r"(Z|[+-]([01][0-9]|2[0-3]):?[0-5][0-9])?)?)?\s*$"
)


def parse_face(face: str | None) -> FacePick:
    """Form value -> face choice: empty = exactly one face, "largest", or a 0-based index."""
    if face is None or face.strip() == "":
        return None
    f = face.strip().lower()
    if f == "largest":
        return "largest"
    if f.isdigit():
        return int(f)
    raise InvalidInput("face must be empty, 'largest' or a face index (0, 1, ...)")
