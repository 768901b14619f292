"""Serve Fortify for the browser tests: ``python -m tests.e2e.serve --port P`` (home from env).

The same app ``fortify serve`` runs (``create_app`` over the ``FORTIFY_*`` settings). If
this checkout's ``create_app`` does not mount the PWA root files yet, they are mounted
here so the browser tests still run; ``tests/api/test_oversight.py`` checks the real app.
"""

from __future__ import annotations

import argparse
import logging

import uvicorn

from fortify.config import Settings
from fortify.service import create_app
from fortify.service.routes import pwa

log = logging.getLogger("fortify.e2e")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    args = ap.parse_args()
    app = create_app(Settings())
    paths = {getattr(r, "path", "") for r in app.routes}
    if "/sw.js" not in paths:
        logging.basicConfig(level=logging.WARNING)
        log.warning("create_app does not serve /sw.js yet; mounting the PWA router for the tests")
        app.include_router(pwa.router)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
