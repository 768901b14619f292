"""Opt-out of a person (supervisor or admin, audited, with a reason)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from fortify.service.deps import GalleryDep, OperatorDep
from fortify.service.routes.common import ERRORS

router = APIRouter(tags=["identities"], responses=ERRORS)


class OptOutCreate(BaseModel):
    reason: str = Field(
        min_length=3,
        max_length=500,
        description="Why (the person's request, its reference): at least 3 visible characters.",
    )


class OptOutPublic(BaseModel):
    identity_id: str
    opted_out: bool
    deleted_templates: int
    refusal_templates: int
    searches_scrubbed: int


@router.post(
    "/identities/{identity_id}/opt-out",
    response_model=OptOutPublic,
    operation_id="identities-opt_out",
)
def opt_out(
    gallery: GalleryDep, operator: OperatorDep, identity_id: str, body: OptOutCreate
) -> OptOutPublic:
    """Delete the person and refuse any later enrolment of their face or reference.

    Their templates are kept only on a refusal list that is never searched for
    candidates; earlier search results that listed them are scrubbed.
    """
    return OptOutPublic(
        **gallery.opt_out_identity(identity_id, operator=operator, reason=body.reason)
    )
