"""Super Query: ``POST /v1/queries`` asks the configured record systems at once.

With ``Accept: text/event-stream`` each source's answer is streamed as it arrives
(server-sent events: ``query``, ``answer`` ..., ``done``); otherwise the final result
is returned as JSON. Refusals (no purpose, purpose code or case id; a role that may not
search) happen before anything leaves and are audited.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from fortify.federation.records import QueryKeys
from fortify.gallery.query import PreparedQuery
from fortify.service.deps import GalleryDep, OperatorDep
from fortify.service.routes.common import ERRORS

router = APIRouter(tags=["queries"], responses=ERRORS)
# queries run to the end (and are audited) even if the client leaves
_RUNNING: set[asyncio.Task[None]] = set()


class QueryCreate(BaseModel):
    reference: str | None = Field(default=None, max_length=128)
    name: str | None = Field(default=None, max_length=200)
    dob: str | None = Field(default=None, max_length=10, description="YYYY-MM-DD")
    document: str | None = Field(default=None, max_length=64)
    plate: str | None = Field(default=None, max_length=16)
    purpose: str | None = Field(default=None, description="Why (required).")
    purpose_code: str | None = Field(default=None, description="From GET /v1/queries/sources.")
    case_id: str | None = None
    search_id: str | None = Field(default=None, description="The search this follows.")
    deadline_ms: int | None = None


def _sse(ev: dict[str, Any]) -> bytes:
    return f"event: {ev['event']}\ndata: {json.dumps(ev['data'], default=str)}\n\n".encode()


async def _stream(gallery: Any, q: PreparedQuery) -> AsyncIterator[bytes]:
    events: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()

    async def pump() -> None:
        try:
            async for ev in gallery.run_query(q):
                await events.put(ev)
        finally:
            await events.put(None)

    task = asyncio.create_task(pump())
    _RUNNING.add(task)
    task.add_done_callback(_RUNNING.discard)
    while (ev := await events.get()) is not None:
        yield _sse(ev)


@router.get("/queries/sources", operation_id="queries-sources")
def sources(gallery: GalleryDep, operator: OperatorDep) -> dict[str, Any]:
    """Purpose codes and the record sources this operator may query."""
    return gallery.query_sources(operator=operator)


@router.post("/queries", operation_id="queries-create", response_model=None)
async def create_query(
    request: Request, gallery: GalleryDep, operator: OperatorDep, body: QueryCreate
) -> dict[str, Any] | StreamingResponse:
    """Query every permitted record source at once under one deadline (audited)."""
    keys = QueryKeys(
        reference=(body.reference or "").strip() or None,
        name=(body.name or "").strip() or None,
        dob=(body.dob or "").strip() or None,
        document=(body.document or "").strip() or None,
        plate=(body.plate or "").strip().upper() or None,
    )
    q: PreparedQuery = await asyncio.to_thread(
        gallery.prepare_query,
        keys,
        operator=operator,
        purpose=body.purpose,
        purpose_code=body.purpose_code,
        case_id=body.case_id,
        search_id=body.search_id,
        deadline_ms=body.deadline_ms,
        channel="api",
    )
    if "text/event-stream" in request.headers.get("accept", ""):
        return StreamingResponse(
            _stream(gallery, q),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    final: dict[str, Any] = {}
    async for ev in gallery.run_query(q):
        if ev["event"] == "done":
            final = ev["data"]
    return final


@router.get("/queries/{query_id}", operation_id="queries-get")
def get_query(gallery: GalleryDep, operator: OperatorDep, query_id: str) -> dict[str, Any]:
    """A past query: who, why, each source's status; records while retained."""
    return gallery.get_query(query_id, operator=operator)
