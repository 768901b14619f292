"""The federation settings file (TOML): purpose codes, deadline and the record sources.

Adding a source is a new ``[[sources]]`` table, never a code change. Secrets are never
written in the file: a source names the environment variable that holds them
(``token_env``, ``password_env``), read when the connector is built.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from fortify.errors import ConfigError
from fortify.federation.records import KINDS, QUERY_KEYS

SEARCH_ROLES = ["officer", "supervisor", "admin"]
# The III purpose codes as an example list; a settings file replaces it with its own.
DEFAULT_PURPOSE_CODES = {
    "C": "Criminal justice (investigation, arrest, custody)",
    "J": "Criminal justice employment",
    "F": "Firearms-related checks",
    "X": "Exigent circumstances",
    "T": "Traffic enforcement (vehicle and licence records)",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RecordMap(_Strict):
    """How one list in a source's answer becomes common records.

    Paths are dotted (``"subject.dob"``); ``records`` is the path of the list ("" for the
    answer itself when it is a list, as rows of a SQL source are).
    """

    records: str = ""
    kind: str
    id: str = "id"
    subject: dict[str, str] = Field(default_factory=dict)
    fields: dict[str, str] = Field(default_factory=dict)
    synthetic: str | None = None

    @field_validator("kind")
    @classmethod
    def _kind(cls, v: str) -> str:
        if v not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")
        return v


class SourceConfig(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")
    transport: Literal["http", "amqp", "sql"]
    description: str = ""
    timeout_ms: int = Field(default=5000, ge=10, le=120_000)
    accepts: list[str] = Field(default_factory=lambda: ["reference"])
    roles: list[str] = Field(default_factory=lambda: list(SEARCH_ROLES))
    purpose_codes: list[str] | None = None  # None: every configured code
    enabled: bool = True
    map: list[RecordMap] = Field(default_factory=list)  # empty: the native answer format
    status_field: str | None = None
    status_values: dict[str, str] = Field(default_factory=dict)
    # http
    url: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    token_env: str | None = None
    # amqp
    queue: str | None = None
    username: str | None = None
    password_env: str | None = None
    # sql
    queries: dict[str, str] = Field(default_factory=dict)

    @field_validator("accepts")
    @classmethod
    def _accepts(cls, v: list[str]) -> list[str]:
        bad = [k for k in v if k not in QUERY_KEYS]
        if bad or not v:
            raise ValueError(f"accepts must name some of {', '.join(QUERY_KEYS)}")
        return v

    def secret(self, env: str | None) -> str | None:
        """The secret held in environment variable ``env`` (never stored in the file)."""
        if not env:
            return None
        value = os.environ.get(env)
        if value is None:
            raise ConfigError(f"source '{self.name}': environment variable {env} is not set")
        return value


class FederationConfig(_Strict):
    deadline_ms: int = Field(default=10_000, ge=50, le=120_000)
    max_answer_bytes: int = Field(default=256 * 1024, ge=1024, le=16 * 1024 * 1024)
    require_case_id: bool = True
    purpose_codes: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_PURPOSE_CODES))
    sources: list[SourceConfig] = Field(default_factory=list)

    def source(self, name: str) -> SourceConfig | None:
        return next((s for s in self.sources if s.name == name), None)


def load_config(path: Path | None) -> FederationConfig:
    """Read and check the settings file; no file means no sources (nothing leaves)."""
    if path is None:
        return FederationConfig()
    try:
        raw: dict[str, Any] = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"federation config not found: {path}") from exc
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"federation config {path} is not valid TOML: {exc}") from exc
    try:
        cfg = FederationConfig(**raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise ConfigError(f"federation config {path}: {where}: {first.get('msg')}") from exc
    names = [s.name for s in cfg.sources]
    if len(set(names)) != len(names):
        raise ConfigError(f"federation config {path}: source names must be unique")
    return cfg
