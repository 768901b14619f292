"""Governance: use policy, training status, approvals, rapid deletion, disputes, oversight.

``GET  /v1/policy``                      the use policy in force (version, digest, categories)
``GET  /v1/training/me``                 the caller's training status (the app's header)
``POST /v1/approvals``                   ask for prior approval (categories that need one)
``GET  /v1/approvals``                   requests (supervisors: all; officers: their own)
``POST /v1/approvals/{id}/approve|deny`` a different, trained supervisor decides
``POST /v1/searches/{id}/outcome``       verified / no action: the probe is deleted at once
``POST /v1/identities/{id}/disputes``    a correction or dispute against a record
``GET  /v1/oversight/governance``        reasoned actions (deletions, opt-outs, exports, ...)
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field
from sqlalchemy import select

from fortify.accountability.authorize import policy_of
from fortify.accountability.training import training_status
from fortify.governance import approvals, outcome, subject
from fortify.governance.duties import OVERSIGHT_ACTIONS
from fortify.service.deps import GalleryDep, OperatorDep
from fortify.service.routes.common import ERRORS
from fortify.store.tables import AuditEvent

router = APIRouter(tags=["governance"], responses=ERRORS)


class ApprovalBody(BaseModel):
    category: str = Field(description="A purpose category that needs prior approval.")
    purpose: str = Field(max_length=500)
    case_id: str | None = Field(default=None, max_length=100)


class DecisionBody(BaseModel):
    note: str = Field(default="", max_length=500)


class OutcomeBody(BaseModel):
    outcome: Literal["verified_citizen", "verified_lawful_resident", "no_action"] = Field(
        description="The person is not a subject: the probe and results are deleted at once."
    )


class DisputeBody(BaseModel):
    kind: Literal["dispute", "correction"] = "dispute"
    text: str = Field(min_length=3, max_length=2000)


@router.get("/policy", operation_id="governance-policy")
def policy(gallery: GalleryDep, operator: OperatorDep) -> dict[str, Any]:
    return policy_of(gallery).public()


@router.get("/training/me", operation_id="governance-training-me")
def my_training(gallery: GalleryDep, operator: OperatorDep) -> dict[str, Any]:
    with gallery.db.session() as s:
        return training_status(s, policy_of(gallery), operator.name).to_dict()


@router.post(
    "/approvals", status_code=status.HTTP_201_CREATED, operation_id="governance-approval-request"
)
def request_approval(
    gallery: GalleryDep, operator: OperatorDep, body: ApprovalBody
) -> dict[str, Any]:
    return approvals.request_approval(
        gallery,
        operator=operator,
        category=body.category,
        purpose=body.purpose,
        case_id=body.case_id,
    )


@router.get("/approvals", operation_id="governance-approvals")
def list_approvals(
    gallery: GalleryDep,
    operator: OperatorDep,
    status_: Annotated[str | None, Query(alias="status")] = None,
) -> list[dict[str, Any]]:
    return approvals.list_approvals(gallery, operator=operator, status=status_)


@router.post("/approvals/{approval_id}/approve", operation_id="governance-approve")
def approve(
    gallery: GalleryDep, operator: OperatorDep, approval_id: str, body: DecisionBody
) -> dict[str, Any]:
    return approvals.decide(gallery, approval_id, operator=operator, approve=True, note=body.note)


@router.post("/approvals/{approval_id}/deny", operation_id="governance-deny")
def deny(
    gallery: GalleryDep, operator: OperatorDep, approval_id: str, body: DecisionBody
) -> dict[str, Any]:
    return approvals.decide(gallery, approval_id, operator=operator, approve=False, note=body.note)


@router.post("/searches/{search_id}/outcome", operation_id="governance-outcome")
def record_outcome(
    gallery: GalleryDep, operator: OperatorDep, search_id: str, body: OutcomeBody
) -> dict[str, Any]:
    """End the encounter: a verified citizen/lawful resident or no action deletes it now."""
    return outcome.record_outcome(gallery, search_id, body.outcome, operator=operator)


@router.post(
    "/identities/{identity_id}/disputes",
    status_code=status.HTTP_201_CREATED,
    operation_id="governance-dispute",
)
def dispute(
    gallery: GalleryDep, operator: OperatorDep, identity_id: str, body: DisputeBody
) -> dict[str, Any]:
    return subject.record_dispute(
        gallery, identity_id, operator=operator, text=body.text, kind=body.kind
    )


@router.get("/oversight/governance", operation_id="governance-oversight")
def reasoned_actions(
    gallery: GalleryDep,
    operator: OperatorDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    """Deletions, opt-outs, exports, rapid deletions, confirmations, approvals, with reasons."""
    operator.require("audit.read")
    with gallery.db.session() as s:
        rows = s.scalars(
            select(AuditEvent)
            .where(AuditEvent.action.in_(OVERSIGHT_ACTIONS))
            .order_by(AuditEvent.seq.desc())
            .limit(limit)
        ).all()
        items = [
            {
                "seq": e.seq,
                "ts": e.ts,
                "actor": e.actor,
                "action": e.action,
                "target": e.target,
                "details": json.loads(e.details or "{}"),
            }
            for e in rows
        ]
    gallery.record_now(operator, "oversight.governance", "", returned=len(items))
    return {"items": items}
