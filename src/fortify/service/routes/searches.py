"""1:N searches: every one needs an operator and a stated purpose, and is audited."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, UploadFile

from fortify.service.deps import GalleryDep, ImageGateDep, OperatorDep, SettingsDep
from fortify.service.routes.common import (
    ERRORS,
    FACE_DESCRIPTION,
    FACE_PATTERN,
    MAX_OFFSET,
    PURPOSE_DESCRIPTION,
    parse_face,
)
from fortify.service.schemas import ConfirmBody, SearchPublic, SearchSummary
from fortify.service.uploads import read_upload

router = APIRouter(tags=["searches"], responses=ERRORS)


@router.post("/searches", response_model=SearchPublic, operation_id="searches-create")
def create_search(
    gallery: GalleryDep,
    settings: SettingsDep,
    operator: OperatorDep,
    gate: ImageGateDep,
    image: Annotated[UploadFile, File(description="The probe photo (required).")],
    purpose: Annotated[str, Form(description=PURPOSE_DESCRIPTION, min_length=3, max_length=500)],
    case_id: Annotated[str | None, Form(max_length=100)] = None,
    top_k: Annotated[int | None, Form(ge=1, le=100)] = None,
    face: Annotated[str | None, Form(description=FACE_DESCRIPTION, pattern=FACE_PATTERN)] = None,
    category: Annotated[str | None, Form(description="Purpose category (use policy).")] = None,
    approval_id: Annotated[str | None, Form(description="Prior approval, if needed.")] = None,
    place: Annotated[str | None, Form(description="Place code, e.g. port-of-entry:x")] = None,
    modality: Annotated[str, Form(description="face or finger")] = "face",
    finger_position: Annotated[
        str | None,
        Form(
            description="Finger: ISO code 0-10 or a name (right-index); 13 / right-four or "
            "14 / left-four: four fingers of one hand, each searched as its own capture"
        ),
    ] = None,
) -> SearchPublic:
    """Search the gallery. Candidates are investigative leads, never identifications."""
    operator.require("search")
    data = read_upload(image, settings.max_upload_bytes)
    with gate.admit(data):
        result = gallery.identify(
            data,
            operator=operator,
            purpose=purpose,
            case_id=case_id,
            top_k=top_k,
            face=parse_face(face),
            channel="api",
            category=category,
            approval_id=approval_id,
            place=place,
            modality=modality,
            finger_position=finger_position,
        )
    return SearchPublic(**result)


@router.post(
    "/searches/{search_id}/captures",
    response_model=SearchPublic,
    operation_id="searches-add_capture",
)
def add_capture(
    gallery: GalleryDep,
    settings: SettingsDep,
    operator: OperatorDep,
    gate: ImageGateDep,
    search_id: str,
    image: Annotated[UploadFile, File(description="Another capture of the same person.")],
    face: Annotated[str | None, Form(description=FACE_DESCRIPTION, pattern=FACE_PATTERN)] = None,
    modality: Annotated[str, Form(description="face or finger")] = "face",
    finger_position: Annotated[str | None, Form(description="Finger: ISO code or name")] = None,
) -> SearchPublic:
    """Add a capture to your own encounter: captures are fused, disagreement is flagged."""
    operator.require("search")
    data = read_upload(image, settings.max_upload_bytes)
    with gate.admit(data):
        result = gallery.add_capture(
            search_id,
            data,
            operator=operator,
            face=parse_face(face),
            channel="api",
            modality=modality,
            finger_position=finger_position,
        )
    return SearchPublic(**result)


@router.post(
    "/searches/{search_id}/confirm", response_model=SearchPublic, operation_id="searches-confirm"
)
def confirm(
    gallery: GalleryDep, operator: OperatorDep, search_id: str, body: ConfirmBody
) -> SearchPublic:
    """A supervisor records that a candidate was confirmed by independent checks.

    The search's probe images are then kept instead of being purged; audited.
    """
    result = gallery.confirm_match(search_id, body.identity_id, operator=operator, note=body.note)
    return SearchPublic(**result)


@router.get("/searches", response_model=list[SearchSummary], operation_id="searches-list")
def list_searches(
    gallery: GalleryDep,
    operator: OperatorDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    operator_name: Annotated[str | None, Query(alias="operator")] = None,
    case_id: str | None = None,
) -> list[SearchSummary]:
    rows = gallery.list_searches(
        operator=operator,
        limit=limit,
        offset=offset,
        operator_name=operator_name,
        case_id=case_id,
    )
    return [SearchSummary(**r) for r in rows]


@router.get("/searches/{search_id}", response_model=SearchPublic, operation_id="searches-get")
def get_search(gallery: GalleryDep, operator: OperatorDep, search_id: str) -> SearchPublic:
    return SearchPublic(**gallery.get_search(search_id, operator=operator))
