"""``fortify shard serve``: refuses to start without a token; serves, and stops on SIGINT
leaving no process behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.unit.index.test_sharded import TOKEN


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _fortify(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "fortify.cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_shard_serve_needs_a_token(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "FORTIFY_SHARD_TOKEN"}
    p = _fortify("shard", "serve", "--dir", str(tmp_path / "s"), "--dim", "8", env=env)
    _, err = p.communicate(timeout=60)
    assert p.returncode != 0
    assert err.strip().count("\n") == 0 and "config_error" in err and "FORTIFY_SHARD_TOKEN" in err


def test_shard_serve_answers_then_stops_on_sigint(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "FORTIFY_SHARD_TOKEN": TOKEN}
    args = ["shard", "serve", "--dir", str(tmp_path / "s"), "--dim", "8", "--factory", "Flat"]
    p = _fortify(*args, "--port", str(port), env=env)
    try:
        stats = None
        for _ in range(150):
            try:
                r = httpx.get(
                    f"http://127.0.0.1:{port}/v1/shard/stats",
                    headers={"Authorization": f"Bearer {TOKEN}"},
                )
                stats = r.json()
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert stats is not None
        assert {k: stats[k] for k in ("dim", "factory", "ntotal", "is_trained", "last_seq")} == {
            "dim": 8,
            "factory": "Flat",
            "ntotal": 0,
            "is_trained": True,
            "last_seq": 0,
        }
    finally:
        p.send_signal(signal.SIGINT)
        p.communicate(timeout=30)
    assert p.returncode is not None
