"""``fortify users train NAME --course C --completed DATE [--expires DATE]`` and
``fortify users training [NAME]``: training attestations (required before any search).

The local OS account (the CLI without a token) is trained by its audit name,
``local:<os user>``, e.g. ``fortify users train local:root --course FR-101 --completed ...``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from fortify.accountability.operators import Operator
from fortify.accountability.training import list_training, record_training, training_status
from fortify.accountability.use_policy import UsePolicy, load_policy
from fortify.cli.common import Ctx, common_options, handle_errors, pass_ctx, print_json
from fortify.store.tables import TrainingRecord


def train_audited(
    g: Any,
    session: Session,
    policy: UsePolicy,
    name: str,
    op: Operator,
    *,
    course: str,
    completed: date | str,
    expires: date | str | None,
    **audit: Any,
) -> TrainingRecord:
    """Record NAME's training by ``op`` and the ``user.train`` audit event that says so
    (``audit``: extra fields, e.g. ``synthetic=True`` for the demo's record)."""
    rec = record_training(
        session,
        policy,
        name,
        course=course,
        completed=completed,
        expires=expires,
        recorded_by=op.name,
    )
    g.record(
        session,
        op,
        "user.train",
        f"user:{name}",
        course=rec.course,
        completed_on=rec.completed_on,
        expires_on=rec.expires_on,
        **audit,
    )
    return rec


def register_training(users_group: click.Group) -> None:
    @users_group.command("train")
    @click.argument("name")
    @click.option("--course", required=True, help="Course code, e.g. FR-101.")
    @click.option("--completed", required=True, help="Completion date YYYY-MM-DD.")
    @click.option("--expires", default=None, help="Expiry YYYY-MM-DD (default: policy).")
    @common_options
    @pass_ctx
    @handle_errors
    def train_cmd(ctx: Ctx, name: str, course: str, completed: str, expires: str | None) -> None:
        """Record that operator NAME completed a training course (audited)."""
        g = ctx.gallery
        op = ctx.operator()
        op.require("users.manage")
        policy = load_policy(g.settings.policy_file)
        with g.write() as s:
            rec = train_audited(
                g, s, policy, name, op, course=course, completed=completed, expires=expires
            )
        click.echo(
            f"trained '{name}': {rec.course}, completed {rec.completed_on}, "
            f"valid until {rec.expires_on}"
        )

    @users_group.command("training")
    @click.argument("name", required=False)
    @click.option("--json", "as_json", is_flag=True)
    @common_options
    @pass_ctx
    @handle_errors
    def training_cmd(ctx: Ctx, name: str | None, as_json: bool) -> None:
        """Training records (all, or NAME's) and whether each operator may search now."""
        g = ctx.gallery
        ctx.operator().require("users.manage")
        policy = load_policy(g.settings.policy_file)
        with g.db.session() as s:
            rows = list_training(s, name)
            names = sorted({r["operator"] for r in rows} | ({name} if name else set()))
            status = {n: training_status(s, policy, n).valid for n in names}
        if as_json:
            print_json({"records": rows, "valid": status})
            return
        t = Table(title="Training records")
        for col in ("operator", "course", "completed", "expires", "valid now"):
            t.add_column(col)
        for r in rows:
            t.add_row(
                r["operator"],
                r["course"],
                r["completed_on"],
                r["expires_on"],
                "yes" if status[r["operator"]] else "no",
            )
        Console().print(t)
