"""Wires the request guard, the refusal audit, the large-image gate and /docs into the app."""

from __future__ import annotations

import asyncio
import logging

from fastapi import FastAPI

from fortify.accountability.operators import Operator, authenticate
from fortify.config import Settings
from fortify.errors import Unauthorized
from fortify.gallery import Gallery
from fortify.imaging import LargeImageGate
from fortify.service import docs
from fortify.service.denials import DenialLog
from fortify.service.guard import Guard

log = logging.getLogger(__name__)


class RedactQuery(logging.Filter):
    """Access-log lines keep the path, never the query string (case ids, names)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            path, sep, _ = args[2].partition("?")
            record.args = (*args[:2], path + ("?…" if sep else ""), *args[3:])
        return True


def redact_access_log() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactQuery) for f in access.filters):
        access.addFilter(RedactQuery())


def install(app: FastAPI, settings: Settings, gallery: Gallery) -> None:
    redact_access_log()
    denials = DenialLog(gallery)
    app.state.denials = denials
    app.state.image_gate = LargeImageGate(
        settings.large_image_pixels, settings.large_image_slots, settings.large_image_wait_s
    )

    def auth(token: str | None) -> Operator:
        with gallery.db.session() as s:
            return authenticate(s, token, ttl_days=settings.token_ttl_days)

    def on_denied(exc: Unauthorized, where: dict[str, str]) -> None:
        actor = str(exc.details.get("user") or "anonymous")
        denials.note(401, exc.code, actor, where["client"], where["method"], where["path"])

    app.add_middleware(
        Guard,
        authenticate=auth,
        max_body_bytes=settings.max_upload_bytes,
        on_denied=on_denied,
    )
    if settings.api_docs:
        docs.install(app)


async def flush_loop(app: FastAPI) -> None:
    denials: DenialLog = app.state.denials
    redact_access_log()  # again: uvicorn may have configured its loggers after create_app
    while True:
        await asyncio.sleep(denials.window_s)
        await asyncio.to_thread(denials.flush)
