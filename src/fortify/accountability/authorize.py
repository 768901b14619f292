"""The one door before any search: training, purpose, use policy, rate, approval.

``authorize(gallery, operator, purpose, case_id, channel=...)`` is called by every
search path (face today; other modalities and federated queries call the same) and
returns an :class:`Authorized` whose ``audit()`` fields go into the search's audit
entry (purpose category, policy version and digest, approval, place). Every refusal
is itself an audit entry (``search.refused`` with the error code), and nothing else
is stored.

Callers that pass only a free-text purpose (older clients, ``fortify.identify``) are
searched under the policy's ``default_category``; the free text is still checked
against the prohibited uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from fortify.accountability.operators import Operator
from fortify.accountability.policy import SearchRequest, check_purpose
from fortify.accountability.training import require_trained
from fortify.accountability.use_policy import UsePolicy, load_policy, normalise_place
from fortify.errors import ApprovalRequired, FortifyError, RateLimited
from fortify.store.tables import ApprovalRequest, AuditEvent

if TYPE_CHECKING:
    from fortify.gallery.core import Gallery

SEARCH_ACTIONS = ("search", "document.scan")


@dataclass(frozen=True)
class Authorized:
    request: SearchRequest
    category: str
    policy_version: str
    policy_digest: str
    approval_id: str | None = None
    place: str | None = None

    def audit(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "purpose_category": self.category,
            "policy_version": self.policy_version,
            "policy_digest": self.policy_digest,
        }
        if self.approval_id:
            out["approval_id"] = self.approval_id
        if self.place:
            out["place"] = self.place
        return out


def policy_of(g: Gallery) -> UsePolicy:
    return load_policy(g.settings.policy_file)


def _aware(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt


def searches_last_hour(g: Gallery, name: str, now: datetime) -> int:
    since = (now - timedelta(hours=1)).isoformat(timespec="microseconds")
    with g.db.session() as s:
        n = s.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.actor == name,
                AuditEvent.action.in_(SEARCH_ACTIONS),
                AuditEvent.ts >= since,
            )
        )
    return int(n or 0)


def _check_approval(
    g: Gallery, operator: Operator, category: str, approval_id: str | None, now: datetime
) -> str:
    if not approval_id:
        raise ApprovalRequired(
            f"searches for '{category}' need a supervisor's prior approval "
            "(POST /v1/approvals, then search with its approval_id)",
            category=category,
        )
    with g.db.session() as s:
        a = s.get(ApprovalRequest, approval_id)
        ok = (
            a is not None
            and a.requester == operator.name
            and a.category == category
            and a.status == "approved"
            and a.expires_at is not None
            and _aware(a.expires_at) > now
        )
    if not ok:
        raise ApprovalRequired(
            f"approval '{approval_id}' is not a valid, unexpired approval of your "
            f"'{category}' searches",
            category=category,
            approval_id=approval_id,
        )
    return approval_id


def authorize(
    g: Gallery,
    operator: Operator,
    purpose: str | None,
    case_id: str | None,
    *,
    channel: str,
    category: str | None = None,
    approval_id: str | None = None,
    place: str | None = None,
    at: datetime | None = None,
    refused_action: str = "search.refused",
) -> Authorized:
    """Check a search against training and the use policy; audit and raise if refused."""
    now = at or datetime.now(UTC)
    policy = policy_of(g)
    cat_name = (category or "").strip() or policy.default_category
    try:
        with g.db.session() as s:
            require_trained(s, policy, operator.name)
        req = check_purpose(purpose, case_id)
        cat = policy.category(cat_name)
        policy.check_prohibited(cat.id, req.purpose)
        policy.check_case(cat, req.case_id)
        where = normalise_place(place)
        policy.check_place_time(cat, where, now)
        limit = policy.searches_per_hour
        if limit > 0 and searches_last_hour(g, operator.name, now) >= limit:
            raise RateLimited(
                f"at most {limit} searches per hour per operator (use policy)", limit=limit
            )
        approved = (
            _check_approval(g, operator, cat.id, approval_id, now)
            if cat.requires_approval
            else None
        )
    except FortifyError as exc:
        rule = exc.details.get("rule")
        g.record_now(
            operator,
            refused_action,
            "",
            code=exc.code,
            channel=channel,
            purpose_category=cat_name,
            policy_version=policy.version,
            policy_digest=policy.digest,
            **({"rule": rule} if rule else {}),
            **({"purpose": (purpose or "").strip()[:200]} if (purpose or "").strip() else {}),
        )
        raise
    return Authorized(
        request=req,
        category=cat.id,
        policy_version=policy.version,
        policy_digest=policy.digest,
        approval_id=approved,
        place=where,
    )


def check_training(
    g: Gallery, operator: Operator, *, channel: str, target: str = "",
    refused_action: str = "search.refused",
) -> None:  # fmt: skip
    """Training only, for steps inside an already authorised encounter (another capture).

    The purpose and policy were checked when the encounter began; a lapsed or
    withdrawn training record still stops every later search step. Audited.
    """
    policy = policy_of(g)
    try:
        with g.db.session() as s:
            require_trained(s, policy, operator.name)
    except FortifyError as exc:
        g.record_now(operator, refused_action, target, code=exc.code, channel=channel)
        raise
