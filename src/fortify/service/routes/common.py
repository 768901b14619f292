"""Helpers shared by routers."""

from __future__ import annotations

from fortify.errors import InvalidInput
from fortify.modalities.face.engine import FacePick
from fortify.service.schemas import ErrorResponse

ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorResponse} for code in (400, 401, 403, 404, 409, 413, 422)
}


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
