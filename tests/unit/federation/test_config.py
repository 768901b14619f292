"""The federation settings file: sources by configuration, secrets from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from fortify.errors import ConfigError
from fortify.federation.config import load_config
from fortify.federation.transports import build_connector

TOML = """
deadline_ms = 2000
purpose_codes = { C = "Criminal justice", T = "Traffic" }
[[sources]]
name = "w"
transport = "http"
url = "http://127.0.0.1:1/q"
token_env = "TEST_FED_TOKEN"
accepts = ["reference", "plate"]
purpose_codes = ["T"]
[[sources]]
name = "s"
transport = "amqp"
url = "amqp://127.0.0.1:5672/"
queue = "q"
username = "guest"
password_env = "TEST_FED_PW"
"""


def test_sources_from_the_file_and_secrets_from_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = tmp_path / "f.toml"
    p.write_text(TOML)
    cfg = load_config(p)
    assert cfg.deadline_ms == 2000 and list(cfg.purpose_codes) == ["C", "T"]
    assert [s.name for s in cfg.sources] == ["w", "s"]
    with pytest.raises(ConfigError, match="TEST_FED_TOKEN"):
        build_connector(cfg.sources[0], 1024)
    monkeypatch.setenv("TEST_FED_TOKEN", "tok")
    monkeypatch.setenv("TEST_FED_PW", "pw")
    http = build_connector(cfg.sources[0], 1024)
    assert http.headers["Authorization"] == "Bearer tok"  # type: ignore[attr-defined]
    amqp = build_connector(cfg.sources[1], 1024)
    assert amqp.url == "amqp://guest:pw@127.0.0.1:5672/"  # type: ignore[attr-defined]
    assert load_config(None).sources == []


@pytest.mark.parametrize(
    "text,match",
    [
        ("deadline_ms = [", "not valid TOML"),
        ('[[sources]]\nname = "x"\ntransport = "ftp"', "transport"),
        ('[[sources]]\nname = "x"\ntransport = "http"\naccepts = ["dna"]', "accepts"),
        ('[[sources]]\nname = "x"\ntransport = "http"\n[[sources]]\nname = "x"\n'
         'transport = "http"', "unique"),
        ("surprise = 1", "surprise"),
    ],
)  # fmt: skip
def test_bad_files_are_config_errors(tmp_path: Path, text: str, match: str) -> None:
    p = tmp_path / "f.toml"
    p.write_text(text)
    with pytest.raises(ConfigError, match=match):
        load_config(p)


def test_sql_sources_must_be_selects() -> None:
    from fortify.federation.config import SourceConfig

    bad = SourceConfig(
        name="x", transport="sql", url="sqlite://", accepts=["reference"],
        queries={"reference": "DELETE FROM t WHERE r = :reference"},
    )  # fmt: skip
    with pytest.raises(ConfigError, match="SELECT"):
        build_connector(bad, 1024)
