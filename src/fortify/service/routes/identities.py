"""Identities and their samples."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Response, UploadFile, status

from fortify.service.deps import GalleryDep, ImageGateDep, OperatorDep, SettingsDep
from fortify.service.routes.common import (
    ERRORS,
    FACE_DESCRIPTION,
    FACE_PATTERN,
    MAX_OFFSET,
    parse_face,
)
from fortify.service.schemas import DeletedPublic, EnrollPublic, IdentitiesPublic, IdentityPublic
from fortify.service.uploads import read_upload

router = APIRouter(tags=["identities"], responses=ERRORS)


@router.post(
    "/identities",
    status_code=status.HTTP_201_CREATED,
    response_model=EnrollPublic,
    operation_id="identities-create",
)
def create_identity(
    gallery: GalleryDep,
    settings: SettingsDep,
    operator: OperatorDep,
    gate: ImageGateDep,
    image: Annotated[UploadFile, File(description="A face photo (required).")],
    reference: Annotated[str, Form(description="External reference in the source system.")],
    source: Annotated[str, Form()] = "default",
    display_name: Annotated[str | None, Form()] = None,
    synthetic: Annotated[bool, Form()] = False,
    face: Annotated[str | None, Form(description=FACE_DESCRIPTION, pattern=FACE_PATTERN)] = None,
    modality: Annotated[str, Form(description="face or finger")] = "face",
    finger_position: Annotated[str | None, Form(description="Finger: ISO code or name")] = None,
) -> EnrollPublic:
    """Enrol a photo (or a fingerprint) under ``reference`` (the identity is created if new)."""
    operator.require("enroll")
    data = read_upload(image, settings.max_upload_bytes)
    with gate.admit(data):
        r = gallery.enroll_image(
            data,
            reference=reference,
            operator=operator,
            source=source,
            display_name=display_name,
            synthetic=synthetic,
            face=parse_face(face),
            original_name=image.filename,
            modality=modality,
            finger_position=finger_position,
        )
    return EnrollPublic(**r.to_dict())


@router.get("/identities", response_model=IdentitiesPublic, operation_id="identities-list")
def list_identities(
    gallery: GalleryDep,
    operator: OperatorDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    source: str | None = None,
    reference: str | None = None,
) -> IdentitiesPublic:
    out = gallery.list_identities(
        operator=operator, limit=limit, offset=offset, source=source, reference=reference
    )
    return IdentitiesPublic(**out)


@router.get(
    "/identities/{identity_id}", response_model=IdentityPublic, operation_id="identities-get"
)
def get_identity(gallery: GalleryDep, operator: OperatorDep, identity_id: str) -> IdentityPublic:
    return IdentityPublic(**gallery.get_identity(identity_id, operator=operator))


@router.delete(
    "/identities/{identity_id}", response_model=DeletedPublic, operation_id="identities-delete"
)
def delete_identity(
    gallery: GalleryDep,
    operator: OperatorDep,
    identity_id: str,
    reason: Annotated[str | None, Query(description="Why the record is deleted.")] = None,
) -> DeletedPublic:
    """Delete the identity, its samples, templates and photos (audited, with the reason)."""
    return DeletedPublic(
        **gallery.delete_identity(identity_id, operator=operator, reason=reason or "")
    )


@router.post(
    "/identities/{identity_id}/samples",
    status_code=status.HTTP_201_CREATED,
    response_model=EnrollPublic,
    operation_id="identities-add_sample",
)
def add_sample(
    gallery: GalleryDep,
    settings: SettingsDep,
    operator: OperatorDep,
    gate: ImageGateDep,
    identity_id: str,
    image: Annotated[UploadFile, File(description="A face or finger image (required).")],
    face: Annotated[str | None, Form(description=FACE_DESCRIPTION, pattern=FACE_PATTERN)] = None,
    modality: Annotated[str, Form(description="face or finger")] = "face",
    finger_position: Annotated[str | None, Form(description="Finger: ISO code or name")] = None,
) -> EnrollPublic:
    operator.require("enroll")
    data = read_upload(image, settings.max_upload_bytes)
    with gate.admit(data):
        r = gallery.add_sample(
            identity_id,
            data,
            operator=operator,
            face=parse_face(face),
            modality=modality,
            finger_position=finger_position,
        )
    return EnrollPublic(**r.to_dict())


@router.get(
    "/samples/{sample_id}/image",
    operation_id="samples-image",
    responses={200: {"content": {"image/jpeg": {}}}},
)
def sample_image(gallery: GalleryDep, operator: OperatorDep, sample_id: str) -> Response:
    """The stored photo of a sample (every view is audited)."""
    data = gallery.sample_image(sample_id, operator=operator)
    return Response(
        content=data, media_type="image/jpeg", headers={"Cache-Control": "private, no-store"}
    )
