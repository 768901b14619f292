"""In-process sample HTTP services (real sockets) for the connector and fan-out tests."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from fortify.federation.config import SourceConfig
from fortify.federation.connectors import OutboundQuery
from fortify.federation.samples import common, data, immigration

Start = Callable[..., str]


@pytest.fixture
def http_service() -> Iterator[Start]:
    """start(**behaviour) -> URL of an immigration-style sample service in this process."""
    servers: list[Any] = []

    def start(**kw: Any) -> str:
        b = common.Behaviour(**kw)
        srv = common.make_http_server(0, immigration.handler(data.load(None)), b, "t")
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return f"http://127.0.0.1:{srv.server_address[1]}/query"

    yield start
    for s in servers:
        s.shutdown()
        s.server_close()


def http_source(name: str, url: str, timeout_ms: int = 2000, **kw: Any) -> SourceConfig:
    return SourceConfig(
        name=name, transport="http", url=url, timeout_ms=timeout_ms,
        accepts=["reference", "name_dob"], **kw,
    )  # fmt: skip


def outbound(keys: dict[str, str] | None = None) -> OutboundQuery:
    return OutboundQuery(
        "q1", keys or {"reference": "SYN-REF-0001"}, "ana", "robbery 12 May", "C", "C-1"
    )
