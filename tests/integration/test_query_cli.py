"""``fortify query``: live answers, grouped records, one-line errors."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from fortify.cli.__main__ import cli
from fortify.federation.samples import common, data, immigration
from tests.conftest import train_local


@pytest.fixture
def config(tmp_path: Path) -> Iterator[Path]:
    srv = common.make_http_server(
        0, immigration.handler(data.load(None)), common.Behaviour(), "cli"
    )
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    cfg = tmp_path / "federation.toml"
    url = f"http://127.0.0.1:{srv.server_address[1]}/query"
    cfg.write_text(
        f'deadline_ms = 2000\n[[sources]]\nname = "border"\ntransport = "http"\nurl = "{url}"\n'
        'accepts = ["reference", "name_dob"]\n'
    )
    yield cfg
    srv.shutdown()
    srv.server_close()


def test_query_cli(tmp_path: Path, config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORTIFY_FEDERATION_CONFIG", str(config))
    home = ["--home", str(tmp_path / "home")]
    train_local(tmp_path / "home")
    run = CliRunner().invoke
    ok = run(cli, [*home, "query", "--reference", "SYN-REF-0001", "--purpose", "robbery 12 May",
                   "--code", "C", "--case", "C-1"])  # fmt: skip
    assert ok.exit_code == 0, ok.output
    assert "hit" in ok.output and "border" in ok.output and "SYNTHETIC" in ok.output
    args = ["--purpose", "robbery 12 May", "--code", "C", "--case", "C-1", "--json"]
    js = run(cli, [*home, "query", "--name", "Synthetic Record 0004", "--dob", "1981-04-10", *args])
    assert js.exit_code == 0, js.output
    assert json.loads(js.stdout)["answers"][0]["status"] == "hit"
    bad = run(cli, [*home, "query", "--reference", "R", "--purpose", "robbery 12 May"])
    assert bad.exit_code == 1
    assert bad.output.startswith("error: purpose_code_required: ")
    assert len(bad.output.strip().splitlines()) == 1


def test_no_sources_configured_is_a_clear_error(tmp_path: Path) -> None:
    train_local(tmp_path / "h")
    r = CliRunner().invoke(
        cli,
        ["--home", str(tmp_path / "h"), "query", "--reference", "R", "--purpose", "robbery",
         "--purpose-code", "C", "--case", "C-1"],
    )  # fmt: skip
    assert r.exit_code == 1 and r.output.startswith("error: config_error: no record sources")
