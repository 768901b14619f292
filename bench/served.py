"""Helpers for the hardening benches: a small real gallery and ``fortify serve`` on loopback."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from bench_policy import train_bench, unlimited_policy  # bench/ is on the path

from fortify.accountability.operators import create_user, local_operator
from fortify.config import Settings
from fortify.errors import FortifyError
from fortify.gallery import Gallery

DATA = Path(__file__).resolve().parent.parent / ".." / "shared" / "data" / "faces" / "celeba"


def build_gallery(home: Path, n_real: int) -> tuple[dict[str, str], list[Path]]:
    """Enrol ``n_real`` CelebA identities; return a token per role and probe photos."""
    g = Gallery(Settings(home=home, policy_file=unlimited_policy(home)))
    op = local_operator()
    train_bench(g, op.name)
    folders = sorted(p for p in DATA.resolve().iterdir() if p.is_dir())[:n_real]
    probes: list[Path] = []
    for d in folders:
        files = sorted(d.glob("*.jpg"))
        with contextlib.suppress(FortifyError):  # no usable face: skipped
            g.enroll_image(files[0], reference=d.name, operator=op, face="largest")
        probes += files[1:3]
    tokens = {}
    with g.write() as s:
        for role in ("officer", "supervisor", "auditor", "admin"):
            _, tokens[role] = create_user(s, f"bench-{role}-{os.getpid()}", role)
    train_bench(g, *(f"bench-{role}-{os.getpid()}" for role in tokens))
    g.close()
    return tokens, probes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve(home: Path, **env_extra: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``fortify serve`` (one process) on a free loopback port until the block ends."""
    port = free_port()
    env = {**os.environ, "FORTIFY_HOME": str(home), **env_extra}
    if (home / "bench-policy.toml").is_file():  # written by build_gallery: no rate limit
        env.setdefault("FORTIFY_POLICY_FILE", str(home / "bench-policy.toml"))
    cmd = [sys.executable, "-m", "fortify.cli.__main__", "serve", "--port", str(port)]
    server = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        t0 = time.monotonic()
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/v1/health", timeout=5).status_code == 200:
                    break
            if server.poll() is not None or time.monotonic() - t0 > 300:
                raise SystemExit("server did not start")
            time.sleep(0.3)
        yield base, server
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
