"""``fortify index check|rebuild|retemplate`` and ``fortify purge``."""

from __future__ import annotations

import click
from rich.progress import Progress

from fortify.cli.common import Ctx, common_options, handle_errors, pass_ctx, print_json


def register(cli: click.Group) -> None:
    @cli.group("index")
    def index_group() -> None:
        """The vector index (derived from the SQL store; always rebuildable)."""

    @index_group.command("check")
    @click.option(
        "--unusable",
        is_flag=True,
        help="Also list stored face templates with no recognisable face (re-enrol those).",
    )
    @common_options
    @pass_ctx
    @handle_errors
    def check_cmd(ctx: Ctx, unusable: bool) -> None:
        """Load the index, replay missed changes, rebuild if it disagrees with the store."""
        if unusable:  # names samples to re-enrol: an enrolling role's business
            ctx.operator().require("enroll")
        with Progress(transient=True) as bar:
            task = bar.add_task("index", total=None)
            report = ctx.gallery.open_index(lambda d, n: bar.update(task, completed=d, total=n))
        out = report.to_dict()
        if unusable:
            out["unusable_face_templates"] = _unusable(ctx)
        print_json(out)

    @index_group.command("rebuild")
    @common_options
    @pass_ctx
    @handle_errors
    def rebuild_cmd(ctx: Ctx) -> None:
        """Rebuild the index from the SQL store."""
        ctx.operator().require("enroll")
        with Progress() as bar:
            task = bar.add_task("rebuilding", total=None)
            ctx.gallery.index.rebuild(lambda d, n: bar.update(task, completed=d, total=n))
        click.echo(f"index rebuilt: {ctx.gallery.index.ntotal} templates")

    @index_group.command("retemplate")
    @click.option(
        "--limit", type=int, default=None, help="At most this many samples now (resume later)."
    )
    @click.option(
        "--modality",
        default="face",
        show_default=True,
        help="finger: rebuild each template from its minutiae record (or stored image).",
    )
    @common_options
    @pass_ctx
    @handle_errors
    def retemplate_cmd(ctx: Ctx, limit: int | None, modality: str) -> None:
        """Template the stored samples with the configured model of a modality (resumable).

        Face: until every stored image has one, the gallery keeps searching with the
        model of its existing templates; scores of two models are never mixed. Finger:
        templates of another model are not searched until re-templated.
        """
        from fortify.gallery.retemplate import retemplate, retemplate_modality
        from fortify.index.sync import IndexManager
        from fortify.modalities.face.engine import Engine

        op = ctx.operator()
        gallery = ctx.gallery
        if modality != "face":
            mod = gallery.modality(modality)
            with Progress() as bar:
                task = bar.add_task(f"re-templating {mod.name}", total=None)
                rep = retemplate_modality(
                    gallery,
                    mod.name,
                    operator=op,
                    progress=lambda d, n: bar.update(task, completed=d, total=n),
                    limit=limit,
                )
            gallery.index_for(mod.name).rebuild()
            print_json(rep.to_dict())
            return
        engine = Engine(ctx.settings)
        with Progress() as bar:
            task = bar.add_task(f"re-templating to {engine.model_id}", total=None)
            report = retemplate(
                gallery,
                engine,
                operator=op,
                progress=lambda d, n: bar.update(task, completed=d, total=n),
                limit=limit,
            )
        if report.coverage.complete:  # build the new model's index now, not at first search
            model_id, dim = engine.model_spec()
            s = ctx.settings
            IndexManager(gallery.db, s.index_dir, model_id, dim, s.index_factory).rebuild()
        print_json(report.to_dict())

    @cli.command("purge")
    @common_options
    @pass_ctx
    @handle_errors
    def purge_cmd(ctx: Ctx) -> None:
        """Delete probe images past their retention time (also runs inside `serve`)."""
        n = ctx.gallery.purge_expired()
        click.echo(f"purged {n} probe image(s)")


def _unusable(ctx: Ctx) -> dict[str, object] | None:
    """The stored face templates of the serving model too close to its null template;
    ``None`` where the model has none (only EdgeFace defines one)."""
    from fortify.gallery.unusable import unusable_templates

    engine = ctx.gallery.engine
    null = getattr(engine.extractor, "null_vector", None)
    if null is None:
        return None
    limit = float(getattr(engine.extractor, "null_max", 1.0))
    return unusable_templates(ctx.gallery.db, engine.model_id, null, limit).to_dict()
