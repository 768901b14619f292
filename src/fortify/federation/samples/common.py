"""What every sample service shares: misbehaviour switches, a JSON-over-HTTP server,
and dying with the parent process (no orphans)."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import random
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
Answer = tuple[int, Any]  # (HTTP status, JSON body)
MAX_REQUEST = 64 * 1024


@dataclass
class Behaviour:
    """How a sample service misbehaves (all off by default)."""

    delay_s: float = 0.0
    jitter_s: float = 0.0
    fail_rate: float = 0.0
    never: bool = False
    malformed: bool = False
    oversized: bool = False
    hostile: bool = False
    rng: random.Random = random.Random(0)  # noqa: RUF009 - replaced per service

    def wait(self) -> None:
        if self.never:
            while True:
                time.sleep(3600)
        d = self.delay_s + (self.rng.random() * self.jitter_s if self.jitter_s else 0.0)
        if d > 0:
            time.sleep(d)

    def fails(self) -> bool:
        return self.fail_rate > 0 and self.rng.random() < self.fail_rate


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, default=None, help="dataset JSON (demo); else built-in")
    p.add_argument("--delay", type=float, default=0.0, help="seconds before each answer")
    p.add_argument("--jitter", type=float, default=0.0, help="up to this many more seconds")
    p.add_argument("--fail-rate", type=float, default=0.0, help="share answered 'unavailable'")
    p.add_argument("--never", action="store_true", help="accept queries, never answer")
    p.add_argument("--malformed", action="store_true", help="answer with broken JSON")
    p.add_argument("--oversized", action="store_true", help="answer with ~5 MB")
    p.add_argument("--hostile", action="store_true", help="nested, huge and unknown fields")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--parent-pid", type=int, default=None, help="exit when this process ends")


def behaviour(args: argparse.Namespace) -> Behaviour:
    return Behaviour(
        delay_s=args.delay,
        jitter_s=args.jitter,
        fail_rate=args.fail_rate,
        never=args.never,
        malformed=args.malformed,
        oversized=args.oversized,
        hostile=args.hostile,
        rng=random.Random(args.seed),
    )


def watch_parent(parent_pid: int | None) -> None:
    """Exit as soon as the parent is gone (the launcher also sets PDEATHSIG on Linux)."""
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    if not parent_pid:
        return

    def loop() -> None:
        while True:
            if os.getppid() != parent_pid:
                os._exit(0)
            time.sleep(0.5)

    threading.Thread(target=loop, daemon=True, name="parent-watch").start()


def ready(what: str) -> None:
    """The launcher waits for this line on stdout."""
    sys.stdout.write(f"READY {what}\n")
    sys.stdout.flush()


def misbehave(b: Behaviour, body: Any) -> bytes:
    """The answer as bytes, spoiled as the switches say."""
    if b.malformed:
        return b'{"status": "hit", "records": [{"kind": "person", "id": '
    if b.oversized:
        return json.dumps({"status": "hit", "padding": "x" * 5_000_000}).encode()
    if b.hostile and isinstance(body, dict):
        body = dict(body)
        body["records"] = [
            {
                "kind": "person",
                "id": {"$gt": ""},
                "subject": {"name": "<script>alert(1)</script>" + "A" * 10_000},
            },
            {
                "kind": "warrant",
                "id": "H-1",
                "subject": {"name": "<img src=x onerror=alert(1)>", "dob": ["1970"]},
                "data": {"offence": {"nested": {"deep": 1}}, "__proto__": "x", "caution": "y"},
            },
        ]
    return json.dumps(body).encode("utf-8")


def serve_http(
    port: int, handle: Callable[[dict[str, Any]], Answer], b: Behaviour, name: str
) -> None:
    """Serve until killed; the endpoint is announced on stdout."""
    server = make_http_server(port, handle, b, name)
    ready(f"http://127.0.0.1:{server.server_address[1]}/query")
    server.serve_forever()


def make_http_server(
    port: int, handle: Callable[[dict[str, Any]], Answer], b: Behaviour, name: str
) -> ThreadingHTTPServer:
    """A threaded JSON service: POST /query with the outbound query as the body."""

    class Handler(BaseHTTPRequestHandler):
        server_version = f"fortify-sample-{name}"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            log.debug(format, *args)

        def _send(self, status: int, data: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._send(200, json.dumps({"service": name, "synthetic": True}).encode())

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if self.path != "/query" or not 0 < length <= MAX_REQUEST:
                self._send(400, b'{"error": "POST /query with a JSON body"}')
                return
            try:
                req = json.loads(self.rfile.read(length))
            except ValueError:
                self._send(400, b'{"error": "not JSON"}')
                return
            b.wait()
            if b.fails():
                self._send(503, b'{"error": "temporarily unavailable"}')
                return
            status, body = handle(req)
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self._send(status, misbehave(b, body))

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    return server


def require_keys(req: dict[str, Any]) -> dict[str, str] | None:
    """The query keys, only if the query carries operator, purpose and purpose code."""
    if not all(req.get(k) for k in ("operator", "purpose", "purpose_code", "query_id")):
        return None
    keys = req.get("keys")
    return {str(k): str(v) for k, v in keys.items()} if isinstance(keys, dict) else None


def matches(keys: dict[str, str], ref: str, name: str, dob: str) -> bool:
    if keys.get("reference") and keys["reference"] == ref:
        return True
    return bool(
        keys.get("name")
        and keys.get("dob")
        and " ".join(keys["name"].upper().split()) == " ".join(name.upper().split())
        and keys["dob"] == dob
    )


def configure() -> None:
    logging.basicConfig(level=os.environ.get("FORTIFY_SAMPLE_LOG", "WARNING"))
