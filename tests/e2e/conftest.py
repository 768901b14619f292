"""Browser tests: a real server over a small seeded gallery, driven by Chromium.

One session-scoped server (``python -m tests.e2e.serve`` on a free loopback port, a
temporary ``FORTIFY_HOME``) serves every scenario; each scenario is one run of
``tests/e2e/driver.mjs`` (Node + playwright-core + Debian's Chromium, headless, with
a fake camera playing a Y4M made from a CelebA photo). Screenshots land in
``test-output/e2e/``. Everything skips cleanly without chromium, node or
``node_modules/playwright-core`` (``bash scripts/setup_e2e.sh`` installs them).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from fortify.modalities.face.engine import Engine
from tests.conftest import ROOT, TEST_THRESHOLD
from tests.e2e.seed import Seed, seed_home

OUT = ROOT / "test-output" / "e2e"
DRIVER = Path(__file__).resolve().parent / "driver.mjs"
PLAYWRIGHT = ROOT / "node_modules" / "playwright-core"
CHROMIUM_CANDIDATES = ("/usr/lib/chromium/chromium", "/usr/bin/chromium")
SCENARIO_TIMEOUT_S = 150


def find_chromium() -> str | None:
    env = os.environ.get("FORTIFY_E2E_CHROMIUM")
    for c in (env, *CHROMIUM_CANDIDATES):
        if c and Path(c).is_file() and os.access(c, os.X_OK):
            return c
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    base_url: str
    home: Path
    proc: subprocess.Popen[bytes]
    seed: Seed
    log: Path
    extra: dict[str, Any] = field(default_factory=dict)

    def get(self, path: str, token: str | None = None) -> tuple[int, bytes]:
        req = urllib.request.Request(self.base_url + path)
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return int(r.status), bytes(r.read())
        except urllib.error.HTTPError as e:
            return int(e.code), bytes(e.read())

    def get_json(self, path: str, token: str | None = None) -> Any:
        status, body = self.get(path, token)
        assert status == 200, (path, status, body[:300])
        return json.loads(body)


def _wait_ready(base: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(base + "/v1/health", timeout=5) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    raise RuntimeError(f"server did not start in {timeout} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def browser_tools() -> dict[str, str]:
    chromium = find_chromium()
    node = shutil.which("node")
    if chromium is None:
        pytest.skip("chromium not installed (bash scripts/setup_e2e.sh)")
    if node is None:
        pytest.skip("node not installed")
    if not (PLAYWRIGHT / "package.json").is_file():
        pytest.skip("node_modules/playwright-core missing (bash scripts/setup_e2e.sh)")
    return {"chromium": chromium, "node": node}


@pytest.fixture(scope="session")
def server(
    browser_tools: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
    engine: Engine,
    people: list[tuple[str, list[Path]]],
) -> Iterator[Server]:
    work = tmp_path_factory.mktemp("e2e")
    home = work / "home"
    seed = seed_home(home, work, engine, people)
    OUT.mkdir(parents=True, exist_ok=True)
    log = OUT / "server.log"
    port = _free_port()
    env = {
        **os.environ,
        "FORTIFY_HOME": str(home),
        "FORTIFY_MATCH_THRESHOLD": str(TEST_THRESHOLD),
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p),
    }
    env.pop("FORTIFY_DATABASE_URL", None)
    env.pop("FORTIFY_TOKEN", None)
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.e2e.serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base, proc, log)
        yield Server(base_url=base, home=home, proc=proc, seed=seed, log=log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def scenario(server: Server, browser_tools: dict[str, str], tmp_path: Path) -> Any:
    """``scenario(name, **extra)`` runs one driver scenario and returns its result dict."""

    def run(name: str, **extra: Any) -> dict[str, Any]:
        cfg = {
            "base_url": server.base_url,
            "chromium": browser_tools["chromium"],
            "out": str(OUT),
            "downloads": str(tmp_path / "downloads"),
            **server.seed.to_config(),
            **extra,
        }
        cfg_path = tmp_path / f"{name}.json"
        cfg_path.write_text(json.dumps(cfg))
        proc = subprocess.run(
            [browser_tools["node"], str(DRIVER), name, str(cfg_path)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=SCENARIO_TIMEOUT_S,
            check=False,
        )
        result: dict[str, Any] | None = None
        for line in proc.stdout.splitlines():
            if line.startswith("RESULT "):
                result = json.loads(line[len("RESULT ") :])
        if proc.returncode != 0 or result is None or not result.get("ok"):
            pytest.fail(
                f"scenario {name} failed (exit {proc.returncode}):\n"
                f"{(result or {}).get('error', '')}\n--- driver log ---\n"
                f"{proc.stderr[-6000:]}\n--- stdout ---\n{proc.stdout[-2000:]}"
            )
        assert result is not None
        return result

    return run
