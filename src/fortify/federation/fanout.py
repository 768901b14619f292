"""Fan-out: every source at once, under one deadline, answers streamed as they arrive.

Each source runs in its own task bounded by ``min(source timeout, time left)``; at the
deadline whatever has not answered is cancelled and reported as ``timeout``. A source
cannot block, delay past the deadline or crash the search.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Sequence

from fortify.federation.connectors import Connector, OutboundQuery, SourceAnswer

GRACE_S = 0.005  # below this, a source is not even started


async def _bounded(conn: Connector, query: OutboundQuery, budget_s: float) -> SourceAnswer:
    t0 = time.perf_counter()
    limit = min(conn.timeout_s, budget_s)
    try:
        return await asyncio.wait_for(conn.query(query), timeout=limit)
    except TimeoutError:
        own = conn.timeout_s <= budget_s
        return SourceAnswer(
            conn.name,
            conn.transport,
            "timeout",
            elapsed_ms=(time.perf_counter() - t0) * 1000.0,
            reason="no answer within the source's timeout"
            if own
            else "no answer within the query deadline",
        )


async def fan_out(
    queries: Sequence[tuple[Connector, OutboundQuery]], deadline_s: float
) -> AsyncIterator[SourceAnswer]:
    """Yield one answer per source, in the order they arrive, all within ``deadline_s``."""
    start = time.perf_counter()
    tasks: dict[asyncio.Task[SourceAnswer], Connector] = {}
    for conn, q in queries:
        tasks[asyncio.create_task(_bounded(conn, q, deadline_s))] = conn
    pending = set(tasks)
    try:
        while pending:
            left = deadline_s - (time.perf_counter() - start)
            if left <= 0:
                break
            done, pending = await asyncio.wait(
                pending, timeout=left, return_when=asyncio.FIRST_COMPLETED
            )
            for t in done:
                yield _result(t, tasks[t], start)
    finally:
        for t in pending:  # cancelled, not awaited: a source's clean-up never delays the result
            t.cancel()
            t.add_done_callback(_quiet)
    for t in pending:
        conn = tasks[t]
        yield SourceAnswer(
            conn.name,
            conn.transport,
            "timeout",
            elapsed_ms=(time.perf_counter() - start) * 1000.0,
            reason="no answer within the query deadline",
        )


def _quiet(task: asyncio.Task[SourceAnswer]) -> None:
    if not task.cancelled():
        with contextlib.suppress(BaseException):
            task.exception()


def _result(task: asyncio.Task[SourceAnswer], conn: Connector, start: float) -> SourceAnswer:
    exc = task.exception()
    if exc is None:
        return task.result()
    return SourceAnswer(
        conn.name,
        conn.transport,
        "error",
        elapsed_ms=(time.perf_counter() - start) * 1000.0,
        reason=type(exc).__name__,
    )


async def sequential(
    queries: Sequence[tuple[Connector, OutboundQuery]],
) -> list[SourceAnswer]:
    """The same sources one after another, each with its own timeout (for comparison)."""
    out = []
    for conn, q in queries:
        out.append(await _bounded(conn, q, conn.timeout_s))
    return out
