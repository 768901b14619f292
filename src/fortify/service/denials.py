"""Refused requests (401, 403) in the audit chain, without letting an attacker flood it.

Each refusal is keyed by (status, code, actor, client address, route family). The
first refusal of a key in a window is written at once (``auth.denied``), up to
``burst`` entries per window in all; every other refusal only increments a counter
in memory. At the end of the window (the flush loop, or the next refusal after it)
one ``auth.denied_summary`` entry per key carries the counts that were not written
one by one, and the number of keys over ``max_keys`` is folded into one overflow
line. So a flood of bad tokens costs at most ``burst + max_keys + 1`` audit entries
per window, whatever its size, and nothing is lost from the counts.

Presented tokens are never recorded (not even hashed): only whose they were, when
the token matched a user (expired or disabled).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass

from fortify.accountability.operators import Operator
from fortify.gallery import Gallery

log = logging.getLogger(__name__)

GUARD = Operator(name="system:guard", role="system", kind="system")
Key = tuple[int, str, str, str, str]


def route_family(path: str) -> str:
    """``/v1/identities/abc/samples`` -> ``/v1/identities``: bounded key cardinality."""
    parts = [p for p in path.split("/") if p][:2]
    return ("/" + "/".join(parts))[:64]


@dataclass
class _Window:
    started: float
    written: int = 0


class DenialLog:
    def __init__(
        self, gallery: Gallery, window_s: float = 60.0, burst: int = 20, max_keys: int = 200
    ) -> None:
        self.gallery = gallery
        self.window_s = window_s
        self.burst = burst
        self.max_keys = max_keys
        self._lock = threading.Lock()
        self._window = _Window(time.monotonic())
        self._pending: Counter[Key] = Counter()
        self._seen: set[Key] = set()
        self._overflow = 0

    def note(self, status: int, code: str, actor: str, client: str, method: str, path: str) -> None:
        """Count one refusal; write it now if it is the first of its kind in the window."""
        self._roll_if_due()
        key: Key = (status, code, actor[:100], client[:64], route_family(path))
        with self._lock:
            write_now = key not in self._seen and self._window.written < self.burst
            if write_now:
                self._seen.add(key)
                self._window.written += 1
            elif key in self._pending or len(self._pending) < self.max_keys:
                self._pending[key] += 1
            else:
                self._overflow += 1
        if write_now:
            self._write(
                "auth.denied",
                status=status,
                code=code,
                actor=key[2],
                client=key[3],
                method=method[:10],
                path=path[:200],
            )

    def flush(self) -> int:
        """Write the counts of the window and start a new one; returns entries written."""
        with self._lock:
            pending, overflow = self._pending, self._overflow
            started = self._window.started
            self._pending, self._seen, self._overflow = Counter(), set(), 0
            self._window = _Window(time.monotonic())
        n = 0
        for (status, code, actor, client, family), count in sorted(pending.items()):
            self._write(
                "auth.denied_summary",
                status=status,
                code=code,
                actor=actor,
                client=client,
                route=family,
                count=count,
                window_s=round(time.monotonic() - started, 1),
            )
            n += 1
        if overflow:
            self._write("auth.denied_summary", overflow=True, count=overflow)
            n += 1
        return n

    def _roll_if_due(self) -> None:
        if time.monotonic() - self._window.started >= self.window_s:
            self.flush()

    def _write(self, action: str, **details: object) -> None:
        try:
            self.gallery.record_now(GUARD, action, "", **details)
        except Exception:  # an audit failure must not turn a 401 into a 500
            log.exception("could not audit a refused request")
