"""The outermost ASGI layer: authenticate, bound the body, set security headers.

It runs before FastAPI parses anything, so

* a protected route (everything under ``/v1`` except ``/v1/health``) without a valid
  token is answered 401 before a single body byte is read (no multipart spooling
  to temporary files for anonymous callers);
* the body is counted while it streams, for a ``Content-Length`` body and for a
  chunked one alike: the request is answered 413 ``payload_too_large`` as soon as
  the limit is crossed, and the rest is never read;
* every response carries the security headers (CSP, ``X-Content-Type-Options``,
  ``X-Frame-Options``/``frame-ancestors``, ``Referrer-Policy``) and a request id
  that is either the caller's (when it is a short token of safe characters) or new.

The authenticated operator is handed to the routes in ``scope["state"]``.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import anyio.to_thread

from fortify.accountability.operators import Operator
from fortify.errors import Unauthorized

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PUBLIC_API = frozenset({"/v1/health"})
FORM_SLACK = 64 * 1024  # room for the other form fields around the image
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; worker-src 'self'; manifest-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(self), microphone=(), geolocation=()"),
)


def valid_request_id(value: str | None) -> str:
    """The caller's ``X-Request-ID`` when it is safe to echo and log, else a new one."""
    if value and _REQUEST_ID.match(value):
        return value
    return uuid.uuid4().hex[:16]


def bearer_token(headers: list[tuple[bytes, bytes]]) -> str | None:
    for k, v in headers:
        if k.lower() == b"authorization":
            scheme, _, token = v.decode("latin-1").strip().partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
            return None
    return None


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> str | None:
    for k, v in headers:
        if k.lower() == name:
            return v.decode("latin-1")
    return None


def with_security_headers(headers: list[tuple[bytes, bytes]], request_id: str) -> list[Any]:
    present = {k.lower() for k, _ in headers}
    out = [(k, v) for k, v in headers if k.lower() != b"x-request-id"]
    out += [(k, v) for k, v in SECURITY_HEADERS if k not in present]
    out.append((b"x-request-id", request_id.encode()))
    return out


class BodyTooLarge(Exception):
    """Raised from ``receive`` once the body passes the limit (FastAPI re-raises HTTP ones)."""


class Guard:
    """Pure ASGI middleware; see the module docstring."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        authenticate: Callable[[str | None], Operator],
        max_body_bytes: int,
        on_denied: Callable[[Unauthorized, dict[str, str]], None] | None = None,
    ) -> None:
        self.app = app
        self.authenticate = authenticate
        self.limit = max_body_bytes + FORM_SLACK
        self.max_upload_bytes = max_body_bytes
        self.on_denied = on_denied

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers: list[tuple[bytes, bytes]] = list(scope.get("headers") or [])
        rid = valid_request_id(_header(headers, b"x-request-id"))
        state = scope.setdefault("state", {})
        state["request_id"] = rid
        path: str = scope.get("path", "")

        if path.startswith("/v1/") and path not in PUBLIC_API:
            token = bearer_token(headers)
            try:
                state["operator"] = await anyio.to_thread.run_sync(self.authenticate, token)
            except Unauthorized as exc:
                if self.on_denied is not None:
                    where = {
                        "method": str(scope.get("method", "")),
                        "path": path,
                        "client": str((scope.get("client") or ("?",))[0]),
                    }
                    await anyio.to_thread.run_sync(self.on_denied, exc, where)
                await self._error(send, rid, 401, exc.code, exc.message)
                return

        length = _header(headers, b"content-length")
        if length is not None and length.strip().isdigit() and int(length) > self.limit:
            await self._error(send, rid, 413, "payload_too_large", self._too_large_msg())
            return

        received = 0
        too_large = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, too_large
            if too_large:
                raise BodyTooLarge()
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    too_large = True
                    raise BodyTooLarge()
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if too_large:  # whatever the app made of the aborted body, the answer is 413
                if not started:
                    started = True
                    await self._error(send, rid, 413, "payload_too_large", self._too_large_msg())
                return
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = with_security_headers(list(message.get("headers", [])), rid)
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except BodyTooLarge:
            if not started:
                await self._error(send, rid, 413, "payload_too_large", self._too_large_msg())
        except Exception:
            log.exception("unhandled error")
            if not started:
                await self._error(send, rid, 500, "internal_error", "internal server error")

    def _too_large_msg(self) -> str:
        return f"request body is larger than {self.max_upload_bytes} bytes"

    async def _error(self, send: Send, rid: str, status: int, code: str, message: str) -> None:
        body = json.dumps(
            {"error": {"code": code, "message": message, "details": {}}, "request_id": rid}
        ).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        if status == 401:
            headers.append((b"www-authenticate", b"Bearer"))
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": with_security_headers(headers, rid),
            }
        )
        await send({"type": "http.response.body", "body": body})
