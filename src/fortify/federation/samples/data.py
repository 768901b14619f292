"""Deterministic SYNTHETIC records for the demo gallery's references.

Reference number *i* (sorted, 0-based) is "Synthetic Record {i+1:04d}", as in the
demo gallery. Who has what is a fixed pattern, so a demo shows hits, "not on file"
and conflicts: record 0001 is in every source, with another date of birth in the
state records and another status in the immigration records.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

MARK = "SYNTHETIC"


def _dob(i: int, shift: int = 0) -> str:
    return f"{1960 + (i * 7) % 40 + shift:04d}-{1 + i % 12:02d}-{1 + (i * 3) % 28:02d}"


def dataset(
    refs: list[str], names: dict[str, str] | None = None, keep_order: bool = False
) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {
        "people": [],
        "warrants": [],
        "state": [],
        "immigration": [],
        "vehicles": [],
    }
    for i, ref in enumerate(refs if keep_order else sorted(refs)):
        name = (names or {}).get(ref) or f"Synthetic Record {i + 1:04d}"
        person = {"reference": ref, "name": name, "dob": _dob(i), "synthetic": True}
        out["people"].append(person)
        if i % 4 == 0:
            for w in range(2 if i == 0 else 1):
                out["warrants"].append(
                    {
                        "warrant_no": f"SYN-W-{i + 1:04d}-{w + 1}",
                        "ref": ref,
                        "name": name,
                        "dob": _dob(i),
                        "offence": f"{MARK} demo warrant {w + 1}: not about anyone pictured",
                        "wtype": "bench" if w == 0 else "arrest",
                        "issued": f"2026-0{1 + w}-15",
                        "agency": "Synthetic County Court",
                    }
                )
        if i % 2 == 0:
            out["state"].append(
                {
                    "id": f"SYN-S-{i + 1:04d}",
                    "reference": ref,
                    "name": name,
                    "dob": _dob(i, shift=1 if i % 8 == 0 else 0),
                    "licence": f"SYN-DL-{i + 1:06d}",
                    "licence_status": "suspended" if i % 4 == 0 else "valid",
                    "residency": "lawful resident" if i % 6 == 0 else "",
                }
            )
        if i % 3 == 0:
            out["immigration"].append(
                {
                    "id": f"SYN-I-{i + 1:04d}",
                    "reference": ref,
                    "name": name,
                    "dob": _dob(i),
                    "status": "removal order" if i % 6 == 0 else "visa valid",
                    "crossings": [
                        {"date": f"2025-{1 + k:02d}-0{1 + k}", "place": f"{MARK} Port {k + 1}"}
                        for k in range(1 + i % 2)
                    ],
                }
            )
        if i % 5 == 0:
            out["vehicles"].append(
                {
                    "id": f"SYN-V-{i + 1:04d}",
                    "ref": ref,
                    "owner": name,
                    "plate": f"SYN{i + 1:04d}",
                    "make": "Synthetic",
                    "model": "Demo",
                    "year": 2010 + i % 15,
                    "flags": "reported stolen" if i == 0 else "",
                }
            )
    return out


def load(path: Path | None, refs: int = 40) -> dict[str, list[dict[str, Any]]]:
    """The dataset in ``path`` (written by the demo), else one for SYN-REF-0001...."""
    if path is not None:
        data: dict[str, list[dict[str, Any]]] = json.loads(path.read_text(encoding="utf-8"))
        return data
    return dataset([f"SYN-REF-{i + 1:04d}" for i in range(refs)])


def write(
    path: Path, refs: list[str], names: dict[str, str] | None = None, keep_order: bool = False
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(dataset(refs, names, keep_order), indent=1)
    path.write_text(text, encoding="utf-8")
    return path
