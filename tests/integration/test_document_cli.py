"""``fortify document``: bad input is one error line, nothing stored."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from fortify.cli.__main__ import cli
from tests.conftest import blank_image, train_local


def test_document_cli_errors(tmp_path: Path) -> None:
    img = tmp_path / "blank.jpg"
    img.write_bytes(blank_image())
    home = tmp_path / "home"
    train_local(home)
    r = CliRunner().invoke(cli, ["--home", str(home), "document", str(img)])
    assert r.exit_code == 1 and r.stderr.startswith("error: purpose_required:")
    r = CliRunner().invoke(
        cli, ["--home", str(home), "document", str(img), "--purpose", "test scan"]
    )
    assert r.exit_code == 1 and r.stderr.strip().startswith("error: no_document:")
