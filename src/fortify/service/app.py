"""``create_app(settings)``: routers, middleware, error handlers, capture page."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from fortify import __version__
from fortify.config import Settings
from fortify.gallery import Gallery
from fortify.service import errors, hardening
from fortify.service.api import api_router
from fortify.service.routes import pwa

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent.parent / "capture" / "static"
PURGE_EVERY_S = 600.0


async def _purge_loop(gallery: Gallery) -> None:
    while True:
        await asyncio.sleep(PURGE_EVERY_S)
        try:
            await asyncio.to_thread(gallery.purge_expired)
        except Exception:  # keep purging on the next tick
            log.exception("retention purge failed")


def create_app(settings: Settings | None = None, gallery: Gallery | None = None) -> FastAPI:
    settings = settings or Settings()
    gallery = gallery or Gallery(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        import faiss

        # requests run in parallel already; OpenMP inside each search only oversubscribes
        faiss.omp_set_num_threads(1)
        await asyncio.to_thread(gallery.engine.prepare)
        await asyncio.to_thread(gallery.open_index)
        await asyncio.to_thread(gallery.purge_expired)
        task = asyncio.create_task(_purge_loop(gallery))
        denials = asyncio.create_task(hardening.flush_loop(app))
        yield
        for t in (task, denials):
            t.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await t
        await asyncio.to_thread(app.state.denials.flush)
        await asyncio.to_thread(gallery.close)

    app = FastAPI(
        title="Fortify",
        version=__version__,
        description=(
            "Accountable biometric identification. Every search needs an authenticated "
            "operator and a stated purpose and is written to a hash-chained audit log. "
            "Results are investigative leads, never identifications."
        ),
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.gallery = gallery
    errors.install(app)

    hardening.install(app, settings, gallery)

    app.include_router(api_router)
    app.include_router(pwa.router)
    if STATIC.is_dir():
        app.mount("/static", StaticFiles(directory=STATIC), name="static")

        @app.get("/", include_in_schema=False)
        def index() -> FileResponse:
            return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    return app


def app_from_env() -> FastAPI:
    """App factory for multi-process serving (settings from ``FORTIFY_*`` variables)."""
    from fortify.logging import configure_logging
    from fortify.procs import die_with_parent_from_env

    configure_logging(os.environ.get("FORTIFY_LOG_LEVEL", "WARNING"))
    die_with_parent_from_env()  # `serve --workers N`: a kill -9 of the parent ends us too
    return create_app(Settings())
