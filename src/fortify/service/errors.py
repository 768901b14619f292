"""FortifyError -> HTTP, in one place: ``{"error": {code, message, details}, "request_id"}``."""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from fortify.errors import FortifyError

log = logging.getLogger(__name__)


def request_id(request: Request) -> str:
    rid = getattr(request.state, "request_id", None)
    if rid is None:
        rid = uuid.uuid4().hex[:16]
        request.state.request_id = rid
    return str(rid)


def error_response(
    request: Request,
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    response = _error_json(request, status, code, message, details)
    if headers:  # e.g. Allow on a 405
        response.headers.update(headers)
    return response


def _error_json(
    request: Request, status: int, code: str, message: str, details: dict[str, Any] | None = None
) -> JSONResponse:
    return JSONResponse(
        status_code=status,
        content={
            "error": {"code": code, "message": message, "details": details or {}},
            "request_id": request_id(request),
        },
        headers={"WWW-Authenticate": "Bearer"} if status == 401 else None,
    )


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media",
    422: "invalid_input",
}


async def _note_denied(request: Request, exc: FortifyError) -> None:
    """Refusals go to the audit (aggregated there, see service/denials.py)."""
    denials = getattr(request.app.state, "denials", None)
    if denials is None:
        return
    op = getattr(request.state, "operator", None)
    actor = str(getattr(op, "name", None) or exc.details.get("user") or "anonymous")
    client = request.client.host if request.client else "?"
    await asyncio.to_thread(
        denials.note, exc.http_status, exc.code, actor, client, request.method, request.url.path
    )


def _allowed(request: Request) -> str | None:
    """The methods the OpenAPI schema documents for this path (None: not an API path)."""
    table: list[tuple[re.Pattern[str], str]] | None = getattr(request.app.state, "allow", None)
    if table is None:
        table = []
        for path, ops in request.app.openapi().get("paths", {}).items():
            rx = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$")
            table.append((rx, ", ".join(sorted(m.upper() for m in ops))))
        request.app.state.allow = table
    for rx, methods in table:
        if rx.match(request.url.path):
            return methods
    return None


def install(app: FastAPI) -> None:
    @app.exception_handler(FortifyError)
    async def _fortify(request: Request, exc: FortifyError) -> JSONResponse:
        if exc.http_status >= 500:
            log.error("internal error %s: %s", exc.code, exc.message)
        if exc.http_status in (401, 403):
            await _note_denied(request, exc)
        return error_response(request, exc.http_status, exc.code, exc.message, exc.details)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", [])), "msg": str(e.get("msg", ""))} for e in exc.errors()
        ]
        missing = [
            e["loc"][-1] for e in errors if str(e["msg"]).lower().startswith("field required")
        ]
        if "purpose" in missing:
            return error_response(
                request, 422, "purpose_required", "every search needs a stated purpose"
            )
        if any(e["loc"][-1:] == ["purpose"] for e in errors):  # too short or too long
            return error_response(
                request,
                422,
                "purpose_required",
                "every search needs a stated purpose (at least 3 visible characters, at most 500)",
            )
        if "image" in missing:
            return error_response(request, 422, "image_required", "an image file is required")
        return error_response(
            request, 422, "invalid_input", "request is invalid", {"errors": errors}
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        headers = dict(exc.headers or {})
        allowed = _allowed(request) if exc.status_code == 405 else None
        if allowed:  # every documented method on this path, not only the first route's
            headers["Allow"] = allowed
        return error_response(request, exc.status_code, code, str(exc.detail), headers=headers)

    @app.exception_handler(Exception)
    async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return error_response(request, 500, "internal_error", "internal server error")
