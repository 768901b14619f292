"""API fixtures: an app over a copy of the enrolled gallery, and one token per role."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from fortify.gallery import Gallery
from fortify.service import create_app
from tests.conftest import add_user


@pytest.fixture
def client(enrolled: Gallery) -> Iterator[TestClient]:
    app = create_app(enrolled.settings, enrolled)
    with TestClient(app) as c:
        yield c


@pytest.fixture
def tokens(enrolled: Gallery) -> dict[str, str]:
    return {
        role: add_user(enrolled, f"{role}1", role)
        for role in ("officer", "supervisor", "auditor", "admin")
    }


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
