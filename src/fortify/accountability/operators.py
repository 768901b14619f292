"""Operators, roles and API tokens (only a SHA-256 of each token is stored)."""

from __future__ import annotations

import getpass
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from fortify.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    TokenExpired,
    Unauthorized,
)
from fortify.store.tables import User

Role = Literal["officer", "supervisor", "auditor", "admin"]
ROLES: tuple[Role, ...] = ("officer", "supervisor", "auditor", "admin")

PERMISSIONS: dict[str, frozenset[str]] = {
    "officer": frozenset({"search", "identities.read"}),
    "supervisor": frozenset({"search", "identities.read", "enroll", "delete", "searches.read_all"}),
    "auditor": frozenset({"audit.read", "searches.read_all", "identities.read"}),
    "admin": frozenset(
        {
            "search",
            "identities.read",
            "enroll",
            "delete",
            "searches.read_all",
            "audit.read",
            "users.manage",
        }
    ),
}
TOKEN_PREFIX = "ftk_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


@dataclass(frozen=True)
class Operator:
    """Who is acting. ``kind`` is "token" (API) or "local" (OS account running the CLI)."""

    name: str
    role: str
    kind: str = "token"

    def can(self, permission: str) -> bool:
        return permission in PERMISSIONS.get(self.role, frozenset())

    def require(self, permission: str) -> None:
        if not self.can(permission):
            raise Forbidden(
                f"role '{self.role}' may not {permission}", role=self.role, permission=permission
            )


def local_operator() -> Operator:
    """The OS account running the CLI on the server (authenticated by the OS login)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return Operator(name=f"local:{user}", role="admin", kind="local")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def create_user(session: Session, name: str, role: str) -> tuple[User, str]:
    """Create an operator; returns the user and the token (shown once, never stored)."""
    if not _NAME.match(name):
        raise InvalidInput("user name must be 1-64 letters, digits, '_', '.', '@' or '-'")
    if role not in ROLES:
        raise InvalidInput(f"unknown role '{role}'; one of {', '.join(ROLES)}")
    if session.execute(select(User).where(User.name == name)).scalar_one_or_none():
        raise Conflict(f"user '{name}' already exists", name=name)
    token = new_token()
    user = User(name=name, role=role, token_hash=hash_token(token))
    session.add(user)
    session.flush()
    return user, token


def rotate_token(session: Session, name: str) -> str:
    user = session.execute(select(User).where(User.name == name)).scalar_one_or_none()
    if user is None:
        raise NotFound(f"no user '{name}'", name=name)
    token = new_token()
    user.token_hash = hash_token(token)
    user.token_issued_at = datetime.now(UTC)
    user.active = True
    return token


def authenticate(session: Session, token: str | None, ttl_days: float | None = None) -> Operator:
    """The operator holding ``token``; tokens older than ``ttl_days`` are refused."""
    if not token:
        raise Unauthorized("an API token is required (Authorization: Bearer <token>)")
    user = session.execute(
        select(User).where(User.token_hash == hash_token(token.strip()))
    ).scalar_one_or_none()
    if user is None:
        raise Unauthorized("invalid or revoked API token")
    if not user.active:
        raise Unauthorized("this operator is disabled", user=user.name)
    if ttl_days is not None:
        issued = user.token_issued_at or user.created_at
        issued = issued.replace(tzinfo=UTC) if issued.tzinfo is None else issued
        expires = issued + timedelta(days=ttl_days)
        if datetime.now(UTC) >= expires:
            raise TokenExpired(
                f"API token expired on {expires.isoformat(timespec='seconds')}; "
                "ask an administrator for a new one (fortify users rotate)",
                user=user.name,
            )
    return Operator(name=user.name, role=user.role)


def _user(session: Session, name: str) -> User:
    user = session.execute(select(User).where(User.name == name)).scalar_one_or_none()
    if user is None:
        raise NotFound(f"no user '{name}'", name=name)
    return user


def set_active(session: Session, name: str, active: bool) -> User:
    """Disable (or re-enable) an operator; a disabled operator's token is refused."""
    user = _user(session, name)
    user.active = active
    return user


def revoke_token(session: Session, name: str) -> User:
    """Invalidate the operator's token now; ``rotate`` issues a new one."""
    user = _user(session, name)
    # a random hash that no token maps to (the column is unique and not null)
    user.token_hash = hashlib.sha256(b"revoked:" + secrets.token_bytes(32)).hexdigest()
    return user
