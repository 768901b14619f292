"""The request guard, through the real server stack (uvicorn on loopback).

A chunked upload without a token is refused before any body byte is read; an
authenticated one is cut off with 413 as soon as it passes the limit, long before
the client has sent it all.
"""

from __future__ import annotations

import json
import select
import socket
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fortify.config import Settings
from fortify.gallery import Gallery
from fortify.service import create_app
from tests.api.conftest import auth
from tests.api.live import live_server, raw_request, read_response
from tests.conftest import add_user

LIMIT = 1 << 20  # 1 MiB for these tests
BOUNDARY = "fortifytestboundary"


def _app(enrolled: Gallery, **overrides: object) -> tuple[Gallery, object]:
    settings = Settings(**{**enrolled.settings.model_dump(), **overrides})
    g = Gallery(settings, engine=enrolled.engine)
    return g, create_app(settings, g)


def _chunked_head(path: str, token: str | None) -> str:
    lines = [
        f"POST {path} HTTP/1.1",
        "Host: 127.0.0.1",
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}",
        "Transfer-Encoding: chunked",
    ]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    return "\r\n".join(lines) + "\r\n\r\n"


def _chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def test_chunked_upload_without_token_is_refused_before_the_body(enrolled: Gallery) -> None:
    g, app = _app(enrolled, max_upload_bytes=LIMIT)
    with live_server(app) as port:  # type: ignore[arg-type]
        s = raw_request(port, _chunked_head("/v1/searches", None))
        t0 = time.monotonic()
        status, raw = read_response(s, timeout=5)  # not one body byte was sent
        s.close()
    assert status == 401 and time.monotonic() - t0 < 3
    body = json.loads(raw.partition(b"\r\n\r\n")[2])
    assert body["error"]["code"] == "unauthorized"
    g.close()


def test_chunked_upload_is_cut_off_at_the_limit(enrolled: Gallery) -> None:
    token = add_user(enrolled, "big1", "officer")
    g, app = _app(enrolled, max_upload_bytes=LIMIT)
    total = 64 * LIMIT  # what the client would like to send
    piece = b"x" * 65536
    with live_server(app) as port:  # type: ignore[arg-type]
        s = raw_request(port, _chunked_head("/v1/searches", token))
        s.sendall(
            _chunk(
                (
                    f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\n'
                    f"limit test\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; "
                    f'name="image"; filename="big.png"\r\nContent-Type: image/png\r\n\r\n'
                ).encode()
            )
        )
        sent, answered = 0, False
        s.setblocking(False)
        while sent < total:
            if select.select([s], [], [], 0)[0]:
                answered = True
                break
            try:
                s.sendall(_chunk(piece))
            except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                # the server stopped reading: wait for its answer
                if select.select([s], [], [], 5)[0]:
                    answered = True
                break
            sent += len(piece)
        s.setblocking(True)
        status, raw = read_response(s, timeout=10) if answered else (0, b"")
        s.close()
    assert answered, f"no answer before {sent} bytes were sent"
    assert status == 413, raw[:300]
    assert json.loads(raw.partition(b"\r\n\r\n")[2])["error"]["code"] == "payload_too_large"
    assert sent < total // 4, f"the server read {sent} bytes before refusing"
    g.close()


def test_content_length_over_the_limit_is_refused_unread(enrolled: Gallery) -> None:
    token = add_user(enrolled, "big2", "officer")
    g, app = _app(enrolled, max_upload_bytes=LIMIT)
    with live_server(app) as port:  # type: ignore[arg-type]
        head = _chunked_head("/v1/searches", token).replace(
            "Transfer-Encoding: chunked", f"Content-Length: {50 * LIMIT}"
        )
        s = raw_request(port, head)
        status, _ = read_response(s, timeout=5)
        s.close()
    assert status == 413
    g.close()


def test_security_headers_and_request_ids(client: TestClient, tokens: dict[str, str]) -> None:
    r = client.get("/v1/me", headers={**auth(tokens["officer"]), "X-Request-ID": "abc-123"})
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["x-request-id"] == "abc-123"
    for path in ("/", "/static/app.js", "/sw.js", "/v1/health", "/openapi.json", "/nope"):
        h = client.get(path).headers
        assert "content-security-policy" in h and h["x-frame-options"] == "DENY", path
    evil = "x\u2028<script>".encode() + b"a" * 10
    r = client.get("/v1/health", headers={"X-Request-ID": evil})  # type: ignore[dict-item]
    assert "script" not in r.headers["x-request-id"] and len(r.headers["x-request-id"]) == 16
    r = client.get("/v1/me", headers={"X-Request-ID": "a" * 65})
    assert r.status_code == 401 and r.json()["request_id"] != "a" * 65


def test_docs_are_served_locally_under_the_csp(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert "cdn" not in page.text.lower() and "<script>" not in page.text
    assert "script-src 'self';" in page.headers["content-security-policy"]
    for src in (
        "/docs/assets/swagger-ui-bundle.js",
        "/docs/assets/swagger-ui.css",
        "/docs/init.js",
    ):
        assert client.get(src).status_code == 200, src


def test_docs_can_be_turned_off(enrolled: Gallery) -> None:
    g, app = _app(enrolled, api_docs=False)
    with TestClient(app) as c:  # type: ignore[arg-type]
        assert c.get("/docs").status_code == 404
        assert c.get("/openapi.json").status_code == 200
    g.close()


def test_access_log_has_no_query_strings(enrolled: Gallery, tmp_path: Path) -> None:
    import logging

    from fortify.service.hardening import RedactQuery

    rec = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        "",
        0,
        '%s - "%s %s HTTP/%s" %d',
        ("1.2.3.4:5", "GET", "/v1/history?case_id=SECRET-CASE", "1.1", 200),
        None,
    )
    assert RedactQuery().filter(rec) and "SECRET-CASE" not in rec.getMessage()
    assert "/v1/history?…" in rec.getMessage()


@pytest.mark.parametrize("sock_family", [socket.AF_INET])
def test_public_routes_need_no_token(client: TestClient, sock_family: int) -> None:
    assert client.get("/v1/health").status_code == 200
    assert client.get("/").status_code == 200


def test_undeclared_method_says_what_is_allowed(client: TestClient, tokens: dict[str, str]) -> None:
    r = client.put("/v1/health")
    assert r.status_code == 405 and "GET" in r.headers["allow"]
    assert r.json()["error"]["code"] == "method_not_allowed"
    r = client.options("/v1/searches", headers=auth(tokens["officer"]))
    assert r.status_code == 405 and r.headers["allow"] == "GET, POST"
