"""Prior approval: an officer asks, a different trained supervisor approves or denies.

Categories with ``requires_approval`` in the use policy can only be searched with the
``approval_id`` of an approved, unexpired request of the same operator and category.
Every request and decision is audited.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from fortify.accountability.operators import Operator
from fortify.accountability.policy import check_purpose
from fortify.accountability.training import require_trained
from fortify.accountability.use_policy import load_policy
from fortify.errors import Conflict, FortifyError, InvalidInput, NotFound, SeparationOfDuties
from fortify.store.tables import ApprovalRequest, utcnow

if TYPE_CHECKING:
    from fortify.gallery.core import Gallery

STATUSES = ("pending", "approved", "denied")


def _aware(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    return (dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt).isoformat()


def approval_dict(a: ApprovalRequest) -> dict[str, Any]:
    return {
        "approval_id": a.id,
        "requester": a.requester,
        "category": a.category,
        "purpose": a.purpose,
        "case_id": a.case_id,
        "status": a.status,
        "decided_by": a.decided_by,
        "decision_note": a.decision_note,
        "created_at": _aware(a.created_at),
        "decided_at": _aware(a.decided_at),
        "expires_at": _aware(a.expires_at),
    }


def request_approval(
    g: Gallery, *, operator: Operator, category: str, purpose: str, case_id: str | None = None
) -> dict[str, Any]:
    """An operator who may search asks for prior approval of a category's searches."""
    operator.require("search")
    policy = load_policy(g.settings.policy_file)
    req = check_purpose(purpose, case_id)
    cat = policy.category(category)
    policy.check_prohibited(cat.id, req.purpose)
    policy.check_case(cat, req.case_id)
    if not cat.requires_approval:
        raise InvalidInput(f"searches for '{cat.id}' need no approval", category=cat.id)
    with g.write() as s:
        a = ApprovalRequest(
            requester=operator.name,
            category=cat.id,
            purpose=req.purpose,
            case_id=req.case_id,
            status="pending",
            decision_note="",
        )
        s.add(a)
        s.flush()
        g.record(
            s,
            operator,
            "approval.request",
            f"approval:{a.id}",
            category=cat.id,
            purpose=req.purpose,
            case_id=req.case_id,
        )
        return approval_dict(a)


def decide(
    g: Gallery, approval_id: str, *, operator: Operator, approve: bool, note: str = ""
) -> dict[str, Any]:
    """A supervisor (not the requester, trained) approves or denies a pending request."""
    operator.require("enroll")  # supervisors and admins
    policy = load_policy(g.settings.policy_file)
    refused: FortifyError | None = None
    with g.db.session() as s:
        a0 = s.get(ApprovalRequest, approval_id)
        if a0 is None:
            raise NotFound(f"no approval request '{approval_id}'", approval_id=approval_id)
        try:
            if a0.requester == operator.name:
                raise SeparationOfDuties(
                    "a request must be decided by someone other than its requester"
                )
            require_trained(s, policy, operator.name)
        except FortifyError as exc:
            refused = exc
    if refused is not None:  # refusals are audited too
        g.record_now(operator, "approval.refused", f"approval:{approval_id}", code=refused.code)
        raise refused
    with g.write() as s:
        a = s.get(ApprovalRequest, approval_id)
        if a is None:
            raise NotFound(f"no approval request '{approval_id}'", approval_id=approval_id)
        if a.status != "pending":
            raise Conflict(f"the request is already {a.status}", status=a.status)
        now = utcnow()
        a.status = "approved" if approve else "denied"
        a.decided_by = operator.name
        a.decided_at = now
        a.decision_note = note.strip()[:500]
        if approve:
            a.expires_at = now + timedelta(hours=policy.approval_valid_hours)
        g.record(
            s,
            operator,
            "approval.decide",
            f"approval:{a.id}",
            status=a.status,
            requester=a.requester,
            category=a.category,
            note=a.decision_note,
        )
        return approval_dict(a)


def list_approvals(
    g: Gallery, *, operator: Operator, status: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Supervisors and admins see every request; officers their own."""
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}", status=status)
    q = select(ApprovalRequest).order_by(ApprovalRequest.created_at.desc()).limit(limit)
    if not operator.can("enroll"):
        operator.require("search")
        q = q.where(ApprovalRequest.requester == operator.name)
    if status:
        q = q.where(ApprovalRequest.status == status)
    with g.db.session() as s:
        return [approval_dict(a) for a in s.scalars(q)]
