"""``fortify users disable|enable|revoke`` and token expiry from the CLI."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from fortify.cli.__main__ import cli


def run(home: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    r = CliRunner().invoke(cli, ["--home", str(home), *args], env=env)
    return r.exit_code, r.stdout, r.stderr


def test_disable_enable_revoke(tmp_path: Path) -> None:
    home = tmp_path / "home"
    code, out, err = run(home, "users", "add", "ana", "--role", "auditor", "--json")
    assert code == 0, err
    token = json.loads(out)["token"]
    assert run(home, "--token", token, "audit", "verify")[0] == 0
    assert run(home, "users", "disable", "ana")[0] == 0
    code, _, err = run(home, "--token", token, "audit", "verify")
    assert code != 0 and err.strip() == "error: unauthorized: this operator is disabled"
    assert run(home, "users", "enable", "ana")[0] == 0
    assert run(home, "--token", token, "audit", "verify")[0] == 0
    assert run(home, "users", "revoke", "ana")[0] == 0
    code, _, err = run(home, "--token", token, "audit", "verify")
    assert code != 0 and "unauthorized" in err
    code, out, _ = run(home, "users", "rotate", "ana")
    assert code == 0 and run(home, "--token", out.strip(), "audit", "verify")[0] == 0
    code, _, err = run(home, "users", "disable", "nobody")
    assert code != 0 and err.startswith("error: not_found:")
    # a lifetime shorter than the token's age: expired, with a clear one-line error
    code, _, err = run(
        home, "--token", out.strip(), "audit", "verify", env={"FORTIFY_TOKEN_TTL_DAYS": "1e-9"}
    )
    assert code != 0 and err.startswith("error: token_expired: API token expired on")
