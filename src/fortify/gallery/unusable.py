"""Stored face templates that hold no recognisable face (enrolled before such captures were
refused): found by their cosine with the model's null template, so they can be re-enrolled.

Since issue 13's fifth round a capture whose template lies close to the null template (a
featureless crop's) is refused at enrolment and search (``face_unrecognizable``). Templates
stored earlier are not changed; ``fortify index check --unusable`` lists them. They do no
harm to searches (such probes are refused now, and a real face scores below the threshold
with them), but the people they were meant to find cannot be found by face.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import select

from fortify.store.db import Database
from fortify.store.tables import TemplateRow
from fortify.templates.codec import decode

SHOWN = 20
"""At most this many samples are named in the report (the count is always complete)."""


@dataclass(frozen=True)
class UnusableReport:
    model_id: str
    limit: float
    templates: int
    unusable: int
    samples: list[dict[str, Any]] = field(default_factory=list)
    """``sample_id``, ``identity_id`` and ``null_similarity`` of the first :data:`SHOWN`."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "limit": self.limit,
            "templates": self.templates,
            "unusable": self.unusable,
            "samples": self.samples,
        }


def unusable_templates(
    db: Database, model_id: str, null_vector: np.ndarray, limit: float, batch: int = 5000
) -> UnusableReport:
    """The stored face templates of ``model_id`` whose cosine with ``null_vector`` exceeds
    ``limit``, read in batches of ``batch`` rows (memory stays bounded)."""
    null = np.asarray(null_vector, np.float32)
    seen = found = 0
    shown: list[dict[str, Any]] = []
    last = 0
    while True:
        with db.session() as s:
            rows = s.execute(
                select(
                    TemplateRow.id, TemplateRow.sample_id, TemplateRow.identity_id, TemplateRow.data
                )
                .where(
                    TemplateRow.modality == "face",
                    TemplateRow.model_id == model_id,
                    TemplateRow.id > last,
                )
                .order_by(TemplateRow.id)
                .limit(batch)
            ).all()
        if not rows:
            break
        last = rows[-1][0]
        seen += len(rows)
        sims = np.array([float(decode(r[3]).vector @ null) for r in rows])
        for r, sim in zip(rows, sims, strict=True):
            if sim > limit:
                found += 1
                if len(shown) < SHOWN:
                    shown.append(
                        {"sample_id": r[1], "identity_id": r[2], "null_similarity": round(sim, 3)}
                    )
    return UnusableReport(model_id, limit, seen, found, shown)
