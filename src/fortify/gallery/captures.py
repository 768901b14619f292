"""The rows of an encounter's captures: template, probe image (staged), per-capture top.

A four-finger search makes several captures at once, so each is built here and all
their probe images are published after the one commit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fortify.gallery import staging as _staging
from fortify.imaging import encode_jpeg
from fortify.modalities.base import Acquisition
from fortify.store.tables import EncounterCapture

if TYPE_CHECKING:
    from fortify.gallery.core import Gallery


def capture_row(
    self: Gallery, sid: str, seq: int, probe: Acquisition, result: dict[str, Any], which: int
) -> tuple[EncounterCapture, tuple[Path, Path] | None]:
    """The row of capture ``seq``; ``which``: its entry in the result's ``per_capture``."""
    path = None
    staged = None
    keep = self.settings.probe_retention_hours > 0  # 0: nothing outlives the request
    if keep and probe.image is not None:
        p = self.settings.media_dir / "probes" / f"{sid}-{seq}.jpg"
        staged = (_staging.stage(self, p, encode_jpeg(probe.image)), p)  # after the commit
        path = str(p.relative_to(self.settings.home))
    top = result["consistency"]["per_capture"][which]
    return EncounterCapture(
        encounter_id=sid,
        seq=seq,
        template=probe.template.to_bytes() if keep else None,
        probe_path=path,
        quality=probe.quality,
        top=top,
        modality=probe.modality,
        finger_position=probe.template.finger_position or None,
    ), staged


@contextmanager
def published(made: list[tuple[EncounterCapture, tuple[Path, Path] | None]]) -> Iterator[None]:
    """Around the write: each capture's staged probe image published after the commit."""
    with ExitStack() as stack:
        for _, staged in made:
            stack.enter_context(_staging.published(staged))
        yield


def retain_until(self: Gallery, now: datetime, capture: EncounterCapture) -> datetime | None:
    """Never None (None read as "forever"): with 0 hours the encounter is due at once."""
    return now + timedelta(hours=max(0.0, self.settings.probe_retention_hours))
