from __future__ import annotations

import pytest

from fortify.accountability.operators import (
    Operator,
    authenticate,
    create_user,
    hash_token,
    rotate_token,
)
from fortify.accountability.policy import check_purpose
from fortify.config import Settings
from fortify.errors import Conflict, Forbidden, InvalidInput, PurposeRequired, Unauthorized
from fortify.store.db import Database
from fortify.store.tables import User


def test_tokens_stored_hashed_and_authenticate(tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = Database(Settings(home=tmp_path))
    db.migrate()
    with db.transaction() as s:
        user, token = create_user(s, "ana", "officer")
    with db.session() as s:
        row = s.get(User, user.id)
        assert (
            row is not None and row.token_hash == hash_token(token) and token not in row.token_hash
        )
        assert authenticate(s, token) == Operator("ana", "officer")
        with pytest.raises(Unauthorized):
            authenticate(s, "ftk_wrong")
        with pytest.raises(Unauthorized):
            authenticate(s, None)
    with db.transaction() as s, pytest.raises(Conflict):
        create_user(s, "ana", "admin")
    with db.transaction() as s:
        new = rotate_token(s, "ana")
    with db.session() as s:
        with pytest.raises(Unauthorized):
            authenticate(s, token)
        assert authenticate(s, new).name == "ana"


@pytest.mark.parametrize("name,role", [("bad name", "officer"), ("ok", "god")])
def test_bad_user_input(tmp_path, name: str, role: str) -> None:  # type: ignore[no-untyped-def]
    db = Database(Settings(home=tmp_path))
    db.migrate()
    with db.transaction() as s, pytest.raises(InvalidInput):
        create_user(s, name, role)


@pytest.mark.parametrize(
    "role,allowed,denied",
    [
        ("officer", {"search"}, {"enroll", "delete", "audit.read", "users.manage"}),
        ("supervisor", {"search", "enroll", "delete"}, {"audit.read", "users.manage"}),
        ("auditor", {"audit.read", "searches.read_all"}, {"search", "enroll", "delete"}),
        ("admin", {"search", "enroll", "delete", "audit.read", "users.manage"}, set()),
    ],
)
def test_role_matrix(role: str, allowed: set[str], denied: set[str]) -> None:
    op = Operator("x", role)
    for p in allowed:
        op.require(p)
    for p in denied:
        with pytest.raises(Forbidden):
            op.require(p)


@pytest.mark.parametrize("purpose", [None, "", "   ", "ab"])
def test_purpose_required(purpose: str | None) -> None:
    with pytest.raises(PurposeRequired):
        check_purpose(purpose, None)


def test_purpose_normalised() -> None:
    r = check_purpose("  robbery suspect  ", "  ")
    assert r.purpose == "robbery suspect" and r.case_id is None
    with pytest.raises(InvalidInput):
        check_purpose("x" * 501, None)
