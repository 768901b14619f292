"""Fan-out: concurrency, one deadline, a source that never answers or answers garbage."""

from __future__ import annotations

import asyncio
import time

from fortify.federation.connectors import Connector, OutboundQuery, SourceAnswer
from fortify.federation.fanout import fan_out, sequential
from fortify.federation.transports import HttpConnector
from tests.unit.federation.conftest import Start, http_source, outbound


class Crashing(Connector):
    """A connector whose transport raises (boundary double: the fan-out must contain it)."""

    transport = "test"

    async def fetch(self, query: OutboundQuery) -> object:
        raise RuntimeError("boom")


def run(pairs: list[tuple[Connector, OutboundQuery]], deadline_s: float) -> list[SourceAnswer]:
    async def collect() -> list[SourceAnswer]:
        return [a async for a in fan_out(pairs, deadline_s)]

    return asyncio.run(collect())


def test_never_answering_and_malformed_sources_do_not_block(http_service: Start) -> None:
    q = outbound()
    conns: list[Connector] = [
        HttpConnector(http_source("fast", http_service()), 65536),
        HttpConnector(http_source("slow", http_service(delay_s=0.3)), 65536),
        HttpConnector(http_source("never", http_service(never=True), timeout_ms=60_000), 65536),
        HttpConnector(http_source("garbage", http_service(malformed=True)), 65536),
        HttpConnector(http_source("down", "http://127.0.0.1:9/query"), 65536),
        Crashing(http_source("crash", "http://x/q"), 65536),
    ]
    t0 = time.perf_counter()
    answers = run([(c, q) for c in conns], deadline_s=0.8)
    took = time.perf_counter() - t0
    assert took < 0.8 + 0.15, took
    got = {a.source: a.status for a in answers}
    assert got == {
        "fast": "hit", "slow": "hit", "never": "timeout", "garbage": "error",
        "down": "temporarily_unavailable", "crash": "error",
    }  # fmt: skip
    order = [a.source for a in answers]
    assert order.index("fast") < order.index("slow") < order.index("never")  # as they arrive
    never = next(a for a in answers if a.source == "never")
    assert "deadline" in never.reason


def test_per_source_timeout_is_shorter_than_the_deadline(http_service: Start) -> None:
    c = HttpConnector(http_source("s", http_service(delay_s=1.0), timeout_ms=150), 65536)
    t0 = time.perf_counter()
    [a] = run([(c, outbound())], deadline_s=5.0)
    assert a.status == "timeout" and "source's timeout" in a.reason
    assert time.perf_counter() - t0 < 0.6


def test_parallel_beats_sequential(http_service: Start) -> None:
    conns = [
        HttpConnector(http_source(f"s{i}", http_service(delay_s=0.2)), 65536) for i in range(4)
    ]
    pairs = [(c, outbound()) for c in conns]
    t0 = time.perf_counter()
    run(pairs, 5.0)
    par = time.perf_counter() - t0
    t0 = time.perf_counter()
    assert [a.status for a in asyncio.run(sequential(pairs))] == ["hit"] * 4
    seq = time.perf_counter() - t0
    assert par < 0.5 < 0.8 <= seq
