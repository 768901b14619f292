"""The demo's record systems: the sample services over the demo gallery's references.

Started by ``fortify demo --serve``; they die with it. A Super Query of a demo
candidate then shows hits, "not on file" and one deliberately slow source.
"""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy import select

from fortify.federation.samples import data
from fortify.federation.samples.launcher import SampleServices
from fortify.store.tables import Identity, Source

SLOW_SOURCE = "immigration"
SLOW_SECONDS = 3.0


def start_demo_records(gallery: Any, source: str) -> SampleServices | None:
    """Start the services, write the federation config, point the gallery at it."""
    if gallery.settings.federation_config is not None:
        click.echo(f"record sources from {gallery.settings.federation_config}", err=True)
        return None
    with gallery.db.session() as s:
        rows = s.execute(
            select(Identity.reference, Identity.display_name)
            .join(Source)
            .where(Source.name == source)
        ).all()
    names = {r: n for r, n in rows if n}
    home = gallery.settings.home / "federation"
    dataset = data.write(home / "dataset.json", sorted(names), names)
    svc = SampleServices(home / "services", dataset=dataset, slow={SLOW_SOURCE: SLOW_SECONDS})
    try:
        svc.start()
    except RuntimeError as exc:
        click.echo(f"sample record services not started: {exc}", err=True)
        svc.stop()
        return None
    for what, why in svc.skipped.items():
        click.echo(f"note: {what}: {why}", err=True)
    cfg = svc.write_config(home / "federation.toml")
    gallery.settings = gallery.settings.model_copy(update={"federation_config": cfg})
    click.echo(
        f"Sample record services (SYNTHETIC records): "
        f"{', '.join(s.name for s in svc.services)}; '{SLOW_SOURCE}' answers after "
        f"{SLOW_SECONDS:.0f} s on purpose. Config: {cfg}"
    )
    return svc
