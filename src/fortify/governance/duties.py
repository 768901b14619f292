"""Separation of duties and reasons for the actions an oversight body watches.

* A candidate is confirmed by a second, trained person who did not run the search.
* Deleting, opting out and exporting need a stated reason (audited, listed for auditors).
* Disputes and corrections recorded against a record ride along on every candidate card.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fortify.accountability.operators import Operator
from fortify.accountability.training import require_trained
from fortify.accountability.use_policy import load_policy
from fortify.errors import FortifyError, ReasonRequired, SeparationOfDuties
from fortify.store.tables import Dispute, Encounter

if TYPE_CHECKING:
    from fortify.gallery.core import Gallery

MAX_REASON = 500
OVERSIGHT_ACTIONS = (
    "identity.delete",
    "opt_out",
    "identity.opt_out",
    "audit.export",
    "searches.export",
    "search.rapid_delete",
    "subject.report",
    "dispute.record",
    "search.confirm",
    "search.confirm_refused",
    "approval.decide",
)


def check_confirmer(g: Gallery, search_id: str, operator: Operator) -> None:
    """Refuse a confirmation by the searcher or by an untrained person (audited)."""
    with g.db.session() as s:
        enc = s.get(Encounter, search_id)
        if enc is None:
            return  # the caller answers not_found
        searcher = enc.operator
        try:
            if operator.name == searcher:
                raise SeparationOfDuties(
                    "a candidate must be confirmed by a second person, not the one who ran "
                    "the search",
                    operator=operator.name,
                )
            require_trained(s, load_policy(g.settings.policy_file), operator.name)
        except FortifyError as exc:
            refused: FortifyError | None = exc
        else:
            refused = None
    if refused is not None:
        g.record_now(operator, "search.confirm_refused", f"search:{search_id}", code=refused.code)
        raise refused


def require_reason(reason: str | None, action: str) -> str:
    r = (reason or "").strip()
    if len(r) < 3:
        raise ReasonRequired(f"{action} needs a stated reason (at least 3 characters)")
    return r[:MAX_REASON]


def disputes_of(s: Session, identity_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    if not identity_ids:
        return out
    for d in s.scalars(
        select(Dispute).where(Dispute.identity_id.in_(identity_ids)).order_by(Dispute.id)
    ):
        out.setdefault(d.identity_id, []).append(
            {
                "kind": d.kind,
                "text": d.text,
                "status": d.status,
                "created_at": d.created_at.isoformat(),
            }
        )
    return out


def annotate_disputes(g: Gallery, candidates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add each candidate's recorded disputes and corrections (``disputes``, may be empty)."""
    with g.db.session() as s:
        found = disputes_of(s, [c["identity_id"] for c in candidates])
    for c in candidates:
        c["disputes"] = found.get(c["identity_id"], [])
    return candidates
