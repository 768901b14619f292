"""History, oversight and live capture guidance.

``GET /v1/history``            searches with filters (officers: their own; others: all)
``GET /v1/oversight/export.csv`` the same rows as CSV (supervisor, auditor, admin; audited)
``GET /v1/oversight/chain``    audit-chain status (supervisor, auditor, admin)
``GET /v1/oversight/summary``  the auditor's dashboard figures (auditor, admin; audited)
``POST /v1/quality``           face detection and quality of a preview frame; not a search
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Query, Response, UploadFile
from pydantic import BaseModel, Field

from fortify.gallery import oversight
from fortify.service.deps import GalleryDep, ImageGateDep, OperatorDep, SettingsDep
from fortify.service.routes.common import ERRORS, MAX_OFFSET, WHEN_PATTERN
from fortify.service.uploads import read_upload

router = APIRouter(tags=["oversight"], responses=ERRORS)

OperatorQ = Annotated[
    str | None, Query(alias="operator", description="Operator name (ignored for officers).")
]
SinceQ = Annotated[
    str | None,
    Query(
        description="From this date (YYYY-MM-DD) or ISO 8601 date-time (UTC if no zone).",
        pattern=WHEN_PATTERN,
    ),
]
UntilQ = Annotated[
    str | None,
    Query(
        description="Up to this date (YYYY-MM-DD, inclusive) or ISO 8601 date-time.",
        pattern=WHEN_PATTERN,
    ),
]
DecisionQ = Annotated[
    str | None,
    Query(
        description='"candidates" or "no_candidate"',
        pattern=r"^\s*(candidates|no_candidate)?\s*$",
    ),
]


class HistoryItem(BaseModel):
    search_id: str
    operator: str
    purpose: str
    case_id: str | None
    created_at: str
    decision: str
    channel: str
    candidates: int
    top_score: float | None
    captures: int
    consistency: dict[str, Any] | None
    probe_retained: bool


class HistoryPublic(BaseModel):
    total: int
    limit: int
    offset: int
    scope: str = Field(description='"own" (officers) or "all"')
    items: list[HistoryItem]


class ChainPublic(BaseModel):
    ok: bool
    entries: int
    head_seq: int
    first_bad_seq: int | None
    reason: str


class QualityCheckPublic(BaseModel):
    faces: int
    boxes: list[list[int]] = Field(description="[x, y, w, h] per face, in image pixels")
    width: int
    height: int
    warnings: list[str] = Field(
        description="no_face, multiple_faces, face_too_small, blurred, too_dark, too_bright,"
        " face_unrecognizable (the face cannot be used: on its side, covered, not a face)"
    )
    quality: dict[str, Any] | None
    ready: bool


@router.get("/history", response_model=HistoryPublic, operation_id="oversight-history")
def history(
    gallery: GalleryDep,
    operator: OperatorDep,
    operator_name: OperatorQ = None,
    case_id: str | None = None,
    decision: DecisionQ = None,
    since: SinceQ = None,
    until: UntilQ = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> HistoryPublic:
    """Past searches, newest first: officers see their own, the other roles all."""
    f = oversight.make_filter(
        operator=operator_name, case_id=case_id, decision=decision, since=since, until=until
    )
    out = oversight.history(gallery, operator=operator, f=f, limit=limit, offset=offset)
    return HistoryPublic(**out)


@router.get(
    "/oversight/export.csv",
    operation_id="oversight-export",
    responses={200: {"content": {"text/csv": {}}}},
)
def export_csv(
    gallery: GalleryDep,
    operator: OperatorDep,
    operator_name: OperatorQ = None,
    case_id: str | None = None,
    decision: DecisionQ = None,
    since: SinceQ = None,
    until: UntilQ = None,
    reason: Annotated[str | None, Query(description="Why the export is made (required).")] = None,
) -> Response:
    """Every search under the filters as CSV; the export itself is audited."""
    f = oversight.make_filter(
        operator=operator_name, case_id=case_id, decision=decision, since=since, until=until
    )
    text = oversight.export_csv(gallery, operator=operator, f=f, reason=reason)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Response(
        content=text.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="fortify-searches-{stamp}.csv"',
            "Cache-Control": "private, no-store",
        },
    )


@router.get("/oversight/chain", response_model=ChainPublic, operation_id="oversight-chain")
def chain(gallery: GalleryDep, operator: OperatorDep) -> ChainPublic:
    """Whether the hash-chained audit log holds (supervisor, auditor, admin)."""
    return ChainPublic(**oversight.chain_status(gallery, operator=operator))


@router.get("/oversight/summary", operation_id="oversight-summary")
def summary(
    gallery: GalleryDep,
    operator: OperatorDep,
    days: Annotated[int, Query(ge=1, le=oversight.MAX_DAYS)] = 30,
) -> dict[str, Any]:
    """Searches per day and per operator, no-candidate share, purposes, purges, chain status."""
    return oversight.summary(gallery, operator=operator, days=days)


@router.post("/quality", response_model=QualityCheckPublic, operation_id="oversight-quality")
def quality(
    gallery: GalleryDep,
    settings: SettingsDep,
    operator: OperatorDep,
    gate: ImageGateDep,
    image: Annotated[UploadFile, File(description="A preview frame (required).")],
) -> QualityCheckPublic:
    """Faces and quality warnings of a preview frame, for live guidance. Stores nothing."""
    data = read_upload(image, settings.max_upload_bytes)
    with gate.admit(data):
        return QualityCheckPublic(**oversight.quality_check(gallery, data, operator=operator))
