"""Shared CLI plumbing: settings from --home, the gallery, error -> exit code."""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click

from fortify.accountability.operators import Operator, authenticate, local_operator
from fortify.config import Settings
from fortify.errors import FortifyError

log = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")

EXIT_ERROR = 1


class Ctx:
    """Lazily built objects for one CLI invocation."""

    def __init__(self, home: Path | None, token: str | None) -> None:
        overrides: dict[str, Any] = {"home": home} if home else {}
        self.settings = Settings(**overrides)
        self.token = token
        self._gallery: Any = None

    @property
    def gallery(self) -> Any:
        if self._gallery is None:
            from fortify.gallery import Gallery

            self._gallery = Gallery(self.settings)
        return self._gallery

    def override(self, home: Path | None, token: str | None) -> None:
        """Apply a sub-command's own --home / --token (before anything is opened)."""
        if home is not None and self._gallery is None:
            self.settings = Settings(**{**self.settings.model_dump(), "home": home})
        if token:
            self.token = token

    def operator(self) -> Operator:
        """The token's operator when a token is given, else the local OS account."""
        if self.token:
            with self.gallery.db.session() as s:
                return authenticate(s, self.token, self.settings.token_ttl_days)
        return local_operator()

    def close(self) -> None:
        if self._gallery is not None:
            self._gallery.close()


def fail(message: str, code: str = "error") -> None:
    click.echo(f"error: {code}: {message}", err=True)
    sys.exit(EXIT_ERROR)


def handle_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn FortifyError into one line on stderr and a non-zero exit."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except FortifyError as exc:
            click.echo(f"error: {exc.code}: {exc.message}", err=True)
            sys.exit(EXIT_ERROR)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:  # every CLI error is one line; the traceback goes to the log
            log.debug("command failed", exc_info=True)
            code = (
                "invalid_input"
                if isinstance(exc, ValueError)
                else "os_error"
                if isinstance(exc, OSError)
                else "internal_error"
            )
            message = " ".join(str(exc).split()) or type(exc).__name__
            click.echo(f"error: {code}: {message}", err=True)
            sys.exit(EXIT_ERROR)
        finally:
            ctx = click.get_current_context(silent=True)
            obj = ctx.find_object(Ctx) if ctx else None
            if obj is not None:
                obj.close()

    return wrapper


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


pass_ctx = click.make_pass_decorator(Ctx)


def common_options(fn: Callable[..., R]) -> Callable[..., R]:
    """Also accept --home and --token after the sub-command name."""

    @functools.wraps(fn)
    def wrapper(*args: Any, home: Path | None = None, token: str | None = None, **kwargs: Any) -> R:
        obj = click.get_current_context().find_object(Ctx)
        if obj is not None:
            obj.override(home, token)
        return fn(*args, **kwargs)

    wrapper = click.option("--token", default=None, help="Act as this API token's operator.")(
        wrapper
    )
    wrapper = click.option(
        "--home",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Data directory (overrides the global --home).",
    )(wrapper)
    return wrapper
