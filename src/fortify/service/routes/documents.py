"""Document scans: passports, ID cards, visas (MRZ) and US licences (AAMVA PDF417).

A scan is a search: an operator with the search role, a stated purpose, audited, retained
like probes.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile
from pydantic import BaseModel, ConfigDict, Field

from fortify.errors import NotFound
from fortify.gallery.documents import get_document_scan, scan_document
from fortify.service.deps import GalleryDep, ImageGateDep, OperatorDep, SettingsDep
from fortify.service.routes.common import ERRORS
from fortify.service.uploads import read_upload

router = APIRouter(tags=["documents"], responses=ERRORS)


class DocumentScanPublic(BaseModel):
    model_config = ConfigDict(extra="allow")

    search_id: str
    kind: str = "document"
    decision: str = Field(description='"leads" or "no_lead"')
    notice: str
    document: dict[str, Any] = Field(description="format, fields, checks, corrections, flags")
    flags: list[str]
    leads: list[dict[str, Any]]
    portrait: dict[str, Any]
    face_search_id: str | None = None
    created_at: str
    operator: str
    purpose: str
    case_id: str | None = None
    channel: str


@router.post("/documents", response_model=DocumentScanPublic, operation_id="documents-scan")
def create_scan(
    gallery: GalleryDep,
    settings: SettingsDep,
    operator: OperatorDep,
    gate: ImageGateDep,
    image: Annotated[UploadFile, File(description="Photo of the document (MRZ or PDF417).")],
    purpose: Annotated[str, Form(description="Why this scan is made (required).")],
    case_id: Annotated[str | None, Form()] = None,
    search_id: Annotated[
        str | None,
        Form(
            description="Your face or finger search: the scan becomes one more capture of it "
            "and its live face is compared with the portrait."
        ),
    ] = None,
    face: Annotated[
        UploadFile | None, File(description="A live face photo to compare with the portrait.")
    ] = None,
) -> DocumentScanPublic:
    """Read the document, look the holder up, compare the portrait. Leads, never identifications."""
    operator.require("search")
    data = read_upload(image, settings.max_upload_bytes)
    face_data = read_upload(face, settings.max_upload_bytes) if face is not None else None
    with gate.admit(data):
        result = scan_document(
            gallery,
            data,
            operator=operator,
            purpose=purpose,
            case_id=case_id,
            channel="api",
            search_id=search_id or None,
            face_image=face_data,
        )
    return DocumentScanPublic(**result)


@router.get("/documents/{scan_id}", response_model=DocumentScanPublic, operation_id="documents-get")
def get_scan(gallery: GalleryDep, operator: OperatorDep, scan_id: str) -> DocumentScanPublic:
    """One of your document scans (audited view)."""
    result = get_document_scan(gallery, scan_id, operator=operator)
    if result.get("kind") != "document":
        raise NotFound(f"no document scan '{scan_id}'")
    return DocumentScanPublic(**result)
