"""One error tree for the whole core, each with a stable string ``code``.

The web layer maps these to HTTP in one place (:mod:`fortify.service.errors`);
the CLI prints ``code: message`` and exits non-zero. The core never imports
the web framework.
"""

from __future__ import annotations

from typing import Any


class FortifyError(Exception):
    """Base of every error Fortify raises on purpose."""

    code = "fortify_error"
    http_status = 400

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


# --- input -------------------------------------------------------------------------------------
class InvalidInput(FortifyError):
    code = "invalid_input"
    http_status = 422


class InvalidImage(InvalidInput):
    """Not an image, an unsupported format, or a truncated/corrupt file."""

    code = "invalid_image"


class ImageTooLarge(InvalidInput):
    """Too many pixels (decompression bomb guard) or too many bytes."""

    code = "image_too_large"
    http_status = 413


class PayloadTooLarge(InvalidInput):
    code = "payload_too_large"
    http_status = 413


class NoFaceFound(InvalidInput):
    code = "no_face"


class MultipleFaces(InvalidInput):
    code = "multiple_faces"


class QualityTooLow(InvalidInput):
    code = "quality_too_low"


class TemplateVersionMismatch(InvalidInput):
    code = "template_version_mismatch"


# --- accountability ----------------------------------------------------------------------------
class PurposeRequired(FortifyError):
    code = "purpose_required"
    http_status = 422


class Unauthorized(FortifyError):
    code = "unauthorized"
    http_status = 401


class Forbidden(FortifyError):
    code = "forbidden"
    http_status = 403


class TokenExpired(Unauthorized):
    code = "token_expired"


class ServiceBusy(FortifyError):
    """Too many expensive requests at once; retry later."""

    code = "busy"
    http_status = 503


class OptedOut(FortifyError):
    """The person asked not to be enrolled; enrolment is refused."""

    code = "opted_out"
    http_status = 409


# --- resources ---------------------------------------------------------------------------------
class NotFound(FortifyError):
    code = "not_found"
    http_status = 404


class Conflict(FortifyError):
    code = "conflict"
    http_status = 409


# --- internals ---------------------------------------------------------------------------------
class IndexError_(FortifyError):
    """The vector index is unusable (it can always be rebuilt from the SQL store)."""

    code = "index_error"
    http_status = 500


class ModelUnavailable(FortifyError):
    code = "model_unavailable"
    http_status = 500


class ConfigError(FortifyError):
    code = "config_error"
    http_status = 500
