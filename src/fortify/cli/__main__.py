"""``fortify`` entry point; each subcommand lives in its own module."""

from __future__ import annotations

import os
from pathlib import Path

import click

from fortify import __version__
from fortify.cli import (
    audit,
    bench,
    demo,
    enroll,
    eval_finger,
    identify,
    index,
    serve,
    shard,
    users,
)
from fortify.cli import document as document_cmd
from fortify.cli import eval as eval_cmd
from fortify.cli import governance as governance_cmd
from fortify.cli import query as query_cmd
from fortify.cli.common import Ctx
from fortify.cli.optout import register as register_optout
from fortify.logging import configure_logging


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fortify")
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="FORTIFY_HOME",
    help="Data directory (default: $FORTIFY_HOME or ~/.fortify).",
)
@click.option(
    "--token",
    envvar="FORTIFY_TOKEN",
    default=None,
    help="Act as this API token's operator (default: the local OS account).",
)
@click.option("--log-level", default=lambda: os.environ.get("FORTIFY_LOG_LEVEL", "WARNING"))
@click.pass_context
def cli(ctx: click.Context, home: Path | None, token: str | None, log_level: str) -> None:
    """Fortify: accountable biometric identification.

    Every search needs a stated purpose and is written to a hash-chained audit log.
    Results are investigative leads, never identifications.
    """
    configure_logging(log_level)
    ctx.obj = Ctx(home, token)


for module in (
    enroll,
    identify,
    serve,
    audit,
    users,
    index,
    demo,
    eval_cmd,
    bench,
    document_cmd,
    shard,
):
    module.register(cli)
governance_cmd.register(cli)
query_cmd.register(cli)
register_optout(cli)
eval_finger.register(cli)  # adds `fortify eval finger` to the eval group


def main() -> None:
    cli(prog_name="fortify")


if __name__ == "__main__":
    main()
