"""Training attestation: an operator may search only with a valid training record.

Records are kept by operator name, so API operators and the local OS account
(``local:<user>``, the CLI without a token) are trained the same way:
``fortify users train local:root --course C --completed DATE``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fortify.accountability.use_policy import UsePolicy
from fortify.errors import InvalidInput, NotFound, TrainingRequired
from fortify.store.tables import TrainingRecord, User

_COURSE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.:/-]{0,99}$")
_LOCAL = re.compile(r"^local:[A-Za-z0-9_.@-]{1,58}$")


@dataclass(frozen=True)
class TrainingStatus:
    operator: str
    valid: bool
    course: str | None
    completed_on: str | None
    expires_on: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "operator": self.operator,
            "valid": self.valid,
            "course": self.course,
            "completed_on": self.completed_on,
            "expires_on": self.expires_on,
        }


def _date(value: str | date, what: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value.strip())
    except ValueError as exc:
        raise InvalidInput(f"{what} must be a date YYYY-MM-DD, not {value!r}") from exc


def record_training(
    session: Session,
    policy: UsePolicy,
    name: str,
    *,
    course: str,
    completed: str | date,
    expires: str | date | None,
    recorded_by: str,
    today: date | None = None,
) -> TrainingRecord:
    """Attest that ``name`` completed ``course``; expiry defaults to the policy's validity."""
    if (
        not _LOCAL.match(name)
        and session.execute(select(User.id).where(User.name == name)).scalar_one_or_none() is None
    ):
        raise NotFound(f"no user '{name}' (the local account is 'local:<os user>')", name=name)
    c = course.strip()
    if not _COURSE.match(c):
        raise InvalidInput("course must be 1-100 letters, digits, spaces or '_.:/-'")
    if policy.training_courses and c not in policy.training_courses:
        raise InvalidInput(
            f"course '{c}' is not accepted by the use policy; one of "
            + ", ".join(policy.training_courses),
            course=c,
        )
    done = _date(completed, "--completed")
    if done > (today or date.today()):
        raise InvalidInput("the completion date is in the future")
    until = (
        _date(expires, "--expires")
        if expires
        else done + timedelta(days=policy.training_validity_days)
    )
    if until <= done:
        raise InvalidInput("the expiry must be after the completion date")
    rec = TrainingRecord(
        operator=name,
        course=c,
        completed_on=done.isoformat(),
        expires_on=until.isoformat(),
        recorded_by=recorded_by,
    )
    session.add(rec)
    session.flush()
    return rec


def training_status(
    session: Session, policy: UsePolicy, name: str, today: date | None = None
) -> TrainingStatus:
    """The operator's best current record (valid on ``today``), else the latest one."""
    day = (today or date.today()).isoformat()
    rows = session.scalars(
        select(TrainingRecord)
        .where(TrainingRecord.operator == name)
        .order_by(TrainingRecord.expires_on.desc(), TrainingRecord.id.desc())
    ).all()
    accepted = [
        r for r in rows if not policy.training_courses or r.course in policy.training_courses
    ]
    for r in accepted:
        if r.completed_on <= day <= r.expires_on:  # valid through the expiry date
            return TrainingStatus(name, True, r.course, r.completed_on, r.expires_on)
    last = accepted[0] if accepted else None
    return TrainingStatus(
        name,
        False,
        last.course if last else None,
        last.completed_on if last else None,
        last.expires_on if last else None,
    )


def require_trained(session: Session, policy: UsePolicy, name: str) -> TrainingStatus:
    """Refuse with ``training_required`` unless ``name`` holds a valid training record."""
    st = training_status(session, policy, name)
    if not st.valid:
        why = f"expired on {st.expires_on}" if st.expires_on else "none recorded"
        raise TrainingRequired(
            f"operator '{name}' has no valid training record ({why}); an administrator "
            f"records it with: fortify users train {name} --course C --completed DATE",
            operator=name,
            expires_on=st.expires_on,
        )
    return st


def list_training(session: Session, name: str | None = None) -> list[dict[str, Any]]:
    q = select(TrainingRecord).order_by(TrainingRecord.operator, TrainingRecord.id)
    if name:
        q = q.where(TrainingRecord.operator == name)
    return [
        {
            "operator": r.operator,
            "course": r.course,
            "completed_on": r.completed_on,
            "expires_on": r.expires_on,
            "recorded_by": r.recorded_by,
        }
        for r in session.scalars(q)
    ]
