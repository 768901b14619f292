"""``fortify demo``: a demo gallery of synthetic records over the shared CelebA photos."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click
from sqlalchemy import func, select

from fortify.accountability.operators import create_user, rotate_token
from fortify.cli.common import Ctx, common_options, fail, handle_errors, pass_ctx
from fortify.cli.enroll import enroll_dir, print_summary
from fortify.errors import Conflict
from fortify.store.tables import Identity, Source

DEFAULT_DATA = Path("../shared/data/faces/celeba")
DEMO_SOURCE = "demo-synthetic"
DEMO_USER = "demo-officer"


def synthetic_records(refs: list[str]) -> dict[str, dict[str, Any]]:
    """Display fields for the demo: plainly synthetic, no facts about anyone in a photo."""
    return {
        ref: {
            "display_name": f"Synthetic Record {i + 1:04d}",
            "synthetic": True,
            "attributes": {
                "record_type": "SYNTHETIC DEMO RECORD",
                "note": "Generated for demonstration. Says nothing about the person pictured.",
                "demo_record_no": f"DEMO-{i + 1:06d}",
            },
        }
        for i, ref in enumerate(sorted(refs))
    }


DEMO_COURSE = "SYNTHETIC-DEMO-TRAINING"


def train_demo(g: Any, names: list[str], op: Any) -> None:
    """A synthetic training record (demo only) so the demo officer and the local account
    may search; real deployments record real courses with ``fortify users train``."""
    from datetime import date

    from fortify.accountability.training import training_status
    from fortify.accountability.use_policy import load_policy
    from fortify.cli.training import train_audited

    policy = load_policy(g.settings.policy_file)
    with g.write() as s:
        for name in names:
            if training_status(s, policy, name).valid:
                continue
            train_audited(
                g,
                s,
                policy,
                name,
                op,
                course=DEMO_COURSE,
                completed=date.today(),
                expires=None,
                synthetic=True,
            )


def register(cli: click.Group) -> None:
    @cli.command("demo")
    @click.option(
        "--data",
        type=click.Path(path_type=Path),
        default=None,
        help="Folder of identity folders (default ../shared/data/faces/celeba).",
    )
    @click.option("--identities", type=int, default=200, show_default=True)
    @click.option("--per-identity", type=int, default=3, show_default=True)
    @click.option("--serve/--no-serve", default=False, help="Start the server afterwards.")
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", default=8000, type=int, show_default=True)
    @common_options
    @pass_ctx
    @handle_errors
    def demo_cmd(
        ctx: Ctx,
        data: Path | None,
        identities: int,
        per_identity: int,
        serve: bool,
        host: str,
        port: int,
    ) -> None:
        """Enrol a demo gallery (synthetic records), print a demo officer token, serve."""
        root = data or Path(os.environ.get("FORTIFY_DEMO_DATA", DEFAULT_DATA))
        if not root.is_dir():
            fail(f"demo photos not found at {root} (use --data)", "invalid_input")
        g = ctx.gallery
        with g.db.session() as s:
            have = (
                s.scalar(
                    select(func.count())
                    .select_from(Identity)
                    .join(Source)
                    .where(Source.name == DEMO_SOURCE)
                )
                or 0
            )
        if have:
            click.echo(f"demo gallery already enrolled ({have} identities)", err=True)
        else:
            refs = sorted(p.name for p in root.iterdir() if p.is_dir())[:identities]
            summary = enroll_dir(
                ctx,
                root,
                source=DEMO_SOURCE,
                face="largest",
                workers=min(2, os.cpu_count() or 1),
                quiet=False,
                limit_identities=identities,
                max_per_identity=per_identity,
                display=synthetic_records(refs),
            )
            print_summary(summary)
        op = ctx.operator()
        with g.write() as s:
            try:
                _, token = create_user(s, DEMO_USER, "officer")
                action = "user.create"
            except Conflict:
                token = rotate_token(s, DEMO_USER)
                action = "user.rotate_token"
            g.record(s, op, action, f"user:{DEMO_USER}", role="officer", reason="demo")
        train_demo(g, [DEMO_USER, op.name], op)
        click.echo("")
        click.echo(f"Demo officer '{DEMO_USER}' API token (shown once): {token}")
        click.echo("All demo records are SYNTHETIC; results are investigative leads only.")
        if serve:
            import uvicorn

            from fortify.cli.demo_records import start_demo_records
            from fortify.service import create_app

            records = start_demo_records(g, DEMO_SOURCE)  # Super Query sources (synthetic)
            click.echo(f"Open http://{host}:{port}/ and sign in with the token above.")
            try:
                uvicorn.run(create_app(g.settings, g), host=host, port=port, log_level="info")
            finally:
                if records is not None:
                    records.stop()
