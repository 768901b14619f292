"""``fortify optout``: a person asks to be deleted and never enrolled again (audited)."""

from __future__ import annotations

import click

from fortify.cli.common import Ctx, common_options, fail, handle_errors, pass_ctx, print_json


def register(cli: click.Group) -> None:
    @cli.command("optout")
    @click.argument("reference", required=False)
    @click.option("--identity", "identity_id", default=None, help="Opt out this identity id.")
    @click.option("--source", default="default", show_default=True, help="Record system name.")
    @click.option("--reason", required=True, help="Why (the request and its reference).")
    @click.option("--json", "as_json", is_flag=True)
    @common_options
    @pass_ctx
    @handle_errors
    def optout_cmd(
        ctx: Ctx,
        reference: str | None,
        identity_id: str | None,
        source: str,
        reason: str,
        as_json: bool,
    ) -> None:
        """Opt out REFERENCE (or --identity ID): delete the person and refuse re-enrolment.

        The refusal holds for the reference in any source and spelling, and for the
        face itself: the person's templates are kept only on a refusal list that is
        never searched for candidates.
        """
        if (reference is None) == (identity_id is None):
            fail("give a REFERENCE or --identity ID (one of them)", "invalid_input")
        g = ctx.gallery
        op = ctx.operator()
        if identity_id is not None:
            out = g.opt_out_identity(identity_id, operator=op, reason=reason)
        else:
            ref = reference or ""
            found = g.opt_out(ref, operator=op, source=source, reason=reason)
            out = {"reference": ref, "source": source, "opted_out": True, "deleted": found}
        if as_json:
            print_json(out)
        elif identity_id is not None:
            click.echo(
                f"opted out identity {identity_id}: {out['deleted_templates']} templates moved "
                f"to the refusal list, {out['searches_scrubbed']} searches scrubbed"
            )
        else:
            what = "deleted and refused" if found else "not enrolled; refused from now on"
            click.echo(f"opted out '{reference}' ({source}): {what}")
