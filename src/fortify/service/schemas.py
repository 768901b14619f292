"""Response models (the OpenAPI contract)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ErrorBody(BaseModel):
    code: str
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


class ErrorResponse(BaseModel):
    error: ErrorBody
    request_id: str


class OperatorPublic(BaseModel):
    name: str
    role: str
    permissions: list[str]


class QualityPublic(BaseModel):
    model_config = ConfigDict(extra="allow")  # each modality adds its own measures

    face_px: int | None = None
    sharpness: float | None = None
    brightness: float | None = None
    warnings: list[str] = Field(default_factory=list)


class ProbePublic(BaseModel):
    face_box: list[int]
    faces_found: int
    quality: QualityPublic
    modality: str = "face"
    finger_position: int = Field(default=0, description="ISO finger code 1-10, 0 = unknown")


class CandidatePublic(BaseModel):
    rank: int
    identity_id: str
    reference: str
    display_name: str | None
    synthetic: bool
    source: str
    score: float = Field(description="Cosine similarity of the best-matching template.")
    estimated_fpir: float | None = Field(
        default=None,
        description="Estimated chance that a search of someone not enrolled scores this high "
        "in a gallery of this size (from the model's calibration).",
    )
    matched_sample_id: str
    photo_sample_id: str | None
    photo_url: str | None
    samples_compared: int
    attributes: dict[str, Any]
    disputes: list[dict[str, Any]] = Field(
        default_factory=list, description="Corrections/disputes recorded against the record."
    )


class CaptureTop(BaseModel):
    capture: int
    top_identity_id: str | None
    top_score: float | None
    finger_position: int | None = Field(
        default=None, description="Finger captures: the ISO finger code of this capture."
    )


class ConsistencyPublic(BaseModel):
    agree: bool = Field(description="All captures point at the same top candidate (or none).")
    warning: str | None
    min_capture_similarity: float | None
    per_capture: list[CaptureTop]


class SearchPublic(BaseModel):
    search_id: str
    decision: str = Field(description='"candidates" or "no_candidate"')
    notice: str
    threshold: float
    threshold_source: str = Field(default="fixed", description='"calibrated" or "fixed"')
    target_fpir: float | None = None
    threshold_resolution_limited: bool = False
    calibration_basis: str | None = Field(
        default=None,
        description='How the calibrated threshold was estimated: "per_probe" (each '
        'calibration photo\'s own false-match rate), "pooled" (all comparisons as one) or '
        '"normal_tail" (pooled, with the rate of a normal tail fitted on the calibration '
        "table's body: large galleries).",
    )
    captures: int = 1
    consistency: ConsistencyPublic | None = None
    confirmed_identity_id: str | None = None
    model: str
    model_version: str
    created_at: str
    operator: str
    purpose: str
    case_id: str | None
    gallery_size: int
    probe: ProbePublic
    candidates: list[CandidatePublic]
    purpose_category: str | None = None
    modality: str = "face"
    by_modality: dict[str, Any] | None = Field(
        default=None, description="Encounters with several modalities: each one's ranking."
    )
    document: dict[str, Any] | None = Field(
        default=None,
        description="A document capture of this encounter: holder leads, portrait check, "
        "and whether the holder agrees with the top candidates.",
    )
    fused: dict[str, Any] | None = Field(
        default=None,
        description="Encounters with several modalities: one fused ranking (calibrated "
        "impostor tails combined, independence assumed) with one estimated FPIR each.",
    )


class ConfirmBody(BaseModel):
    identity_id: str = Field(description="The candidate confirmed by independent checks.")
    note: str = Field(default="", max_length=500)


class SearchSummary(BaseModel):
    search_id: str
    operator: str
    purpose: str
    case_id: str | None
    created_at: str
    decision: str
    channel: str
    candidates: int
    captures: int = 1
    agree: bool = True
    probe_retained: bool


class SamplePublic(BaseModel):
    sample_id: str
    captured_at: str
    has_image: bool
    quality: dict[str, Any]


class IdentityPublic(BaseModel):
    identity_id: str
    reference: str
    source: str
    display_name: str | None
    synthetic: bool
    attributes: dict[str, Any]
    created_at: str
    samples: list[SamplePublic] = Field(default_factory=list)


class IdentitiesPublic(BaseModel):
    total: int
    items: list[IdentityPublic]


class EnrollPublic(BaseModel):
    identity_id: str
    reference: str
    sample_id: str
    template_id: int
    created_identity: bool
    quality: dict[str, Any]


class DeletedPublic(BaseModel):
    identity_id: str
    deleted_templates: int


class AuditVerifyPublic(BaseModel):
    ok: bool
    entries: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None
    reason: str


class HealthPublic(BaseModel):
    status: str
    templates: int
    index: dict[str, Any]
    model: str
