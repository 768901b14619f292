"""Rapid deletion for people who are not subjects.

When the officer records that the person was verified as a citizen or a lawful
resident, or that the encounter ended with no action, the probe photos, templates and
the result of the search are deleted at once instead of at the retention deadline.
The audit log keeps only that it happened (outcome, counts), never the probe.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from fortify.accountability.operators import Operator
from fortify.errors import Conflict, InvalidInput, NotFound
from fortify.store.tables import Encounter, EncounterCapture

if TYPE_CHECKING:
    from fortify.gallery.core import Gallery

log = logging.getLogger(__name__)

DELETE_NOW = ("verified_citizen", "verified_lawful_resident", "no_action")
OUTCOMES = DELETE_NOW


def record_outcome(
    g: Gallery, search_id: str, outcome: str, *, operator: Operator
) -> dict[str, Any]:
    """The searching officer (or a supervisor) ends the encounter; non-subjects are deleted."""
    operator.require("search")
    if outcome not in OUTCOMES:
        raise InvalidInput(f"outcome must be one of {', '.join(OUTCOMES)}", outcome=outcome)
    paths: list[Path] = []
    with g.write() as s:
        enc = s.get(Encounter, search_id)
        if enc is None or (enc.operator != operator.name and not operator.can("searches.read_all")):
            raise NotFound(f"no search '{search_id}' of yours", search_id=search_id)
        if enc.confirmed_identity_id is not None:
            raise Conflict("this search has a confirmed match; it is kept, not deleted")
        caps = s.scalars(
            select(EncounterCapture).where(EncounterCapture.encounter_id == search_id)
        ).all()
        paths = [g.settings.home / c.probe_path for c in caps if c.probe_path]
        if enc.probe_path:
            paths.append(g.settings.home / enc.probe_path)
        for c in caps:
            s.delete(c)
        s.flush()  # captures first: the encounter row goes after them
        s.delete(enc)
        g.record(
            s,
            operator,
            "search.rapid_delete",
            f"search:{search_id}",
            outcome=outcome,
            captures=len(caps),
        )
    for p in set(paths):
        p.unlink(missing_ok=True)
    log.info("search %s deleted at once (%s)", search_id, outcome)
    return {"search_id": search_id, "outcome": outcome, "deleted": True, "captures": len(caps)}
