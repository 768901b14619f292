"""All routers under /v1."""

from __future__ import annotations

from fastapi import APIRouter

from fortify.service.routes import (
    audit,
    documents,
    governance,
    identities,
    oversight,
    queries,
    searches,
    system,
)
from fortify.service.routes import optout as optout_routes

api_router = APIRouter(prefix="/v1")
for r in (
    system.router,
    identities.router,
    searches.router,
    audit.router,
    oversight.router,
    documents.router,
    governance.router,
    queries.router,
):
    api_router.include_router(r)
api_router.include_router(optout_routes.router)
