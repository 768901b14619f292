"""Super Query in the browser: a second server over the seeded home, with the sample
record services (SYNTHETIC records; the top candidate has records, one source is slow)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from fortify.config import Settings
from fortify.federation.samples import data
from fortify.federation.samples.launcher import SampleServices, amqp_available
from fortify.store.db import Database
from fortify.store.tables import Identity
from tests.conftest import ROOT, TEST_THRESHOLD
from tests.e2e.conftest import OUT, SCENARIO_TIMEOUT_S, Server, _free_port, _wait_ready

DRIVER = Path(__file__).resolve().parent / "driver_query.mjs"


@pytest.fixture(scope="module")
def query_server(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not amqp_available():
        pytest.skip("RabbitMQ is not running on 127.0.0.1:5672")
    work = tmp_path_factory.mktemp("e2e-query")
    db = Database(Settings(home=server.home))
    with db.session() as s:
        names = dict(s.execute(select(Identity.reference, Identity.display_name)).all())
    db.dispose()
    refs = [server.seed.mated_reference, *sorted(set(names) - {server.seed.mated_reference})]
    dataset = data.write(work / "dataset.json", refs, names, keep_order=True)
    svc = SampleServices(work / "svc", dataset=dataset, slow={"immigration": 1.5},
                         db_name="fortify_test_federation_e2e",
                         queue=f"fortify.test.e2e.{os.getpid()}")  # fmt: skip
    with svc:
        cfg = svc.write_config(work / "federation.toml", deadline_ms=8000)
        port = _free_port()
        env = {**os.environ, "FORTIFY_HOME": str(server.home),
               "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")]),
               "FORTIFY_MATCH_THRESHOLD": str(TEST_THRESHOLD),
               "FORTIFY_FEDERATION_CONFIG": str(cfg)}  # fmt: skip
        log = OUT / "server-query.log"
        with log.open("wb") as fh:
            proc = subprocess.Popen(
                [sys.executable, "-m", "tests.e2e.serve", "--port", str(port)],
                cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT,
            )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(base, proc, log)
            yield base
        finally:
            proc.terminate()
            proc.wait(timeout=15)


def test_super_query_results_arrive_live(
    server: Server, query_server: str, browser_tools: dict[str, str], tmp_path: Path
) -> None:
    cfg = {**server.seed.to_config(), "base_url": query_server, "out": str(OUT),
           "chromium": browser_tools["chromium"]}  # fmt: skip
    path = tmp_path / "superquery.json"
    path.write_text(json.dumps(cfg))
    proc = subprocess.run(
        [browser_tools["node"], str(DRIVER), "superquery", str(path)],
        cwd=ROOT, capture_output=True, text=True, timeout=SCENARIO_TIMEOUT_S, check=False,
    )  # fmt: skip
    result: dict[str, Any] = {}
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[7:])
    assert proc.returncode == 0 and result.get("ok"), (
        f"{result.get('error')}\n{proc.stderr[-4000:]}"
    )
    assert result["status"]["warrants"] == "hit"
    assert (OUT / "20-super-query.png").is_file()
