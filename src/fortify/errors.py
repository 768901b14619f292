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


class NoFingerFound(QualityTooLow):
    """The image does not show a fingerprint (a face, a blank page, noise), or a
    four-finger slap shows fewer than two fingers."""

    code = "no_finger"


class TemplateVersionMismatch(InvalidInput):
    code = "template_version_mismatch"


class UnsafeText(InvalidInput):
    """Control or bidirectional-override characters in operator text."""

    code = "unsafe_text"


# --- accountability ----------------------------------------------------------------------------
class PurposeRequired(FortifyError):
    code = "purpose_required"
    http_status = 422


class PurposeCodeRequired(PurposeRequired):
    """An outbound record query needs a purpose code from the configured list."""

    code = "purpose_code_required"


class CaseRequired(PurposeRequired):
    """An outbound record query needs a case id."""

    code = "case_required"


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


class DuplicateSample(Conflict):
    """The same image (by SHA-256) is already a sample of this identity."""

    code = "duplicate_sample"


# --- internals ---------------------------------------------------------------------------------
class IndexError_(FortifyError):
    """The vector index is unusable (it can always be rebuilt from the SQL store)."""

    code = "index_error"
    http_status = 500


class IndexUnavailable(IndexError_):
    """Part of the index (a shard) did not answer: the gallery cannot be searched in full."""

    code = "index_unavailable"
    http_status = 503


class ModelUnavailable(FortifyError):
    code = "model_unavailable"
    http_status = 500


class ConfigError(FortifyError):
    code = "config_error"
    http_status = 500


# --- governance (use policy, training, separation of duties) ----------------------------------
class PurposeProhibited(FortifyError):
    """The stated purpose or category is a prohibited use under the use policy."""

    code = "purpose_prohibited"
    http_status = 403


class TrainingRequired(FortifyError):
    """The operator has no valid (unexpired) training record."""

    code = "training_required"
    http_status = 403


class CaseIdRequired(FortifyError):
    code = "case_id_required"
    http_status = 422


class ApprovalRequired(FortifyError):
    """The purpose category needs a supervisor's prior approval for this search."""

    code = "approval_required"
    http_status = 403


class RateLimited(FortifyError):
    code = "rate_limited"
    http_status = 429


class SearchNotAllowedHere(FortifyError):
    """The use policy forbids searching at this place or time."""

    code = "place_or_time_not_allowed"
    http_status = 403


class ReasonRequired(FortifyError):
    code = "reason_required"
    http_status = 422


class SeparationOfDuties(FortifyError):
    """The same person may not both run a search and confirm its candidate."""

    code = "separation_of_duties"
    http_status = 403


# --- identity documents ------------------------------------------------------------------------
class NoDocumentFound(InvalidInput):
    """No MRZ band and no PDF417 barcode in the image."""

    code = "no_document"


class MrzUnreadable(InvalidInput):
    code = "mrz_unreadable"


class BarcodeUnreadable(InvalidInput):
    code = "barcode_unreadable"


class NotAamva(InvalidInput):
    code = "not_aamva"
