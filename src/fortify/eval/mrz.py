"""``fortify eval mrz DIR``: Fortify's MRZ reader beside PassportEye on the same images.

Valid read = every ICAO 9303 check digit of the reading holds. Field accuracy is scored where
a ``ground_truth.json`` lies beside the images (the fastmrz and PassportEye specimen schemas are
both understood). Files whose name says they hold no MRZ (``nomrz``) count as negatives: the
right answer is ``no_document``.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2

from fortify.errors import FortifyError
from fortify.modalities.document.mrz import MrzReading
from fortify.modalities.document.reader import read_mrz

log = logging.getLogger(__name__)
IMAGE_EXT = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"}
FIELDS = (
    "document_number",
    "birth_date",
    "expiry_date",
    "surname",
    "given_names",
    "nationality",
    "issuer",
    "sex",
)


def _yymmdd(value: str | None) -> str | None:
    if not value:
        return None
    return value[2:4] + value[5:7] + value[8:10] if "-" in value else value


def load_truth(folder: Path) -> dict[str, dict[str, str]]:
    """Ground truth by file name, in Fortify's field names (dates as YYMMDD)."""
    path = folder / "ground_truth.json"
    if not path.exists():
        return {}
    raw = json.loads(path.read_text())
    out: dict[str, dict[str, str]] = {}
    for key, gt in raw.items():
        if key.startswith("_") or not isinstance(gt, dict):
            continue
        name = Path(key).name
        if "document_number" in gt:  # fastmrz schema
            out[name] = {
                "document_number": gt["document_number"],
                "surname": gt["surname"],
                "given_names": gt["given_name"],
                "nationality": gt["nationality_code"],
                "issuer": gt["issuer_code"],
                "sex": gt["sex"],
                "birth_date": _yymmdd(gt["birth_date"]) or "",
                "expiry_date": _yymmdd(gt["expiry_date"]) or "",
                "_lines": "\n".join(gt.get("mrz_lines", [])),
            }
        else:  # PassportEye schema
            out[name] = {
                "document_number": gt["number"],
                "surname": gt["surname"],
                "given_names": gt["names"],
                "nationality": gt["nationality"],
                "issuer": gt["country"],
                "sex": gt["sex"],
                "birth_date": gt["date_of_birth"],
                "expiry_date": gt["expiration_date"],
            }
    return out


def _fortify_fields(r: MrzReading) -> dict[str, str]:
    f = r.fields
    return {k: (_yymmdd(f[k]) if k.endswith("_date") else f[k]) or "" for k in FIELDS}


def _passporteye(path: Path) -> dict[str, Any]:
    from passporteye import read_mrz as pe_read

    t = time.perf_counter()
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            mrz = pe_read(str(path))
    except Exception as exc:  # a peer tool: any failure is a failed read
        log.info("passporteye failed on %s: %s", path, exc)
        mrz = None
    dt = time.perf_counter() - t
    if mrz is None:
        return {"valid": False, "read": False, "seconds": dt}
    d = mrz.to_dict()
    fields = {
        "document_number": d.get("number", "").rstrip("<"),
        "surname": d.get("surname", ""),
        "given_names": d.get("names", ""),
        "nationality": d.get("nationality", "").rstrip("<"),
        "issuer": d.get("country", "").rstrip("<"),
        "sex": d.get("sex", ""),
        "birth_date": d.get("date_of_birth", ""),
        "expiry_date": d.get("expiration_date", ""),
    }
    # Same criterion as Fortify's: every check digit PassportEye reports holds.
    checks = [v for k, v in d.items() if k.startswith("valid_") and k != "valid_score"]
    return {
        "valid": bool(checks) and all(checks),
        "read": True,
        "seconds": dt,
        "valid_score": d.get("valid_score"),
        "lines": d.get("raw_text", ""),
        "fields": fields,
    }


def _accuracy(fields: dict[str, str] | None, truth: dict[str, str]) -> float:
    if fields is None:
        return 0.0
    return sum(fields.get(k, "") == truth[k] for k in FIELDS) / len(FIELDS)


def evaluate_mrz(
    directory: Path,
    with_passporteye: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    files = sorted(
        Path(root) / name
        for root, _, names in os.walk(directory, followlinks=True)
        for name in names
        if Path(name).suffix.lower() in IMAGE_EXT
    )
    truth: dict[Path, dict[str, dict[str, str]]] = {}
    rows: list[dict[str, Any]] = []
    for i, path in enumerate(files):
        folder = path.parent
        if folder not in truth:
            truth[folder] = load_truth(folder)
        gt = truth[folder].get(path.name)
        negative = "nomrz" in path.stem.lower()
        row: dict[str, Any] = {
            "image": str(path.relative_to(directory)),
            "negative": negative,
            "has_truth": gt is not None,
        }
        gray = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        t = time.perf_counter()
        cpu = time.process_time()
        try:
            if gray is None:
                raise FortifyError("unreadable image file")
            r = read_mrz(gray)
            row["fortify"] = {
                "valid": r.valid,
                "format": r.format,
                "lines": r.lines,
                "corrections": [c.__dict__ for c in r.corrections],
                "checks": {c.name: c.ok for c in r.checks},
                "flags": r.flags,
                "fields": _fortify_fields(r),
            }
        except FortifyError as exc:
            row["fortify"] = {"valid": False, "error": exc.code}
        row["fortify"]["seconds"] = round(time.perf_counter() - t, 3)
        row["fortify"]["cpu_seconds"] = round(time.process_time() - cpu, 3)
        if gt is not None:
            row["fortify"]["field_accuracy"] = _accuracy(row["fortify"].get("fields"), gt)
            if gt.get("_lines") and "lines" in row["fortify"]:
                row["fortify"]["lines_exact"] = "\n".join(row["fortify"]["lines"]) == gt["_lines"]
        if with_passporteye:
            pe = _passporteye(path)
            if gt is not None:
                pe["field_accuracy"] = _accuracy(pe.get("fields"), gt)
            row["passporteye"] = pe
        rows.append(row)
        if progress:
            progress(i + 1, len(files))
    return {"n": len(rows), **_summary(rows, with_passporteye), "images": rows}


def _summary(rows: list[dict[str, Any]], pe: bool) -> dict[str, Any]:
    pos = [r for r in rows if not r["negative"]]
    neg = [r for r in rows if r["negative"]]
    out: dict[str, Any] = {"n_documents": len(pos), "n_negatives": len(neg)}
    tools = ["fortify"] + (["passporteye"] if pe else [])
    for tool in tools:
        valid = [r[tool]["valid"] for r in pos]
        acc = [r[tool]["field_accuracy"] for r in pos if "field_accuracy" in r[tool]]
        secs = [r[tool]["seconds"] for r in rows]
        plain = [
            r[tool]["valid"]
            and not any(
                c["reason"].startswith("check_digit") for c in r[tool].get("corrections", [])
            )
            for r in pos
        ]
        s = {
            "valid_read_rate": round(sum(valid) / max(len(valid), 1), 4),
            "valid_without_check_digit_correction": sum(plain),
            "valid_reads": sum(valid),
            "field_accuracy": round(sum(acc) / len(acc), 4) if acc else None,
            "exact_with_truth": sum(a == 1.0 for a in acc),
            "n_with_truth": len(acc),
            "seconds_per_image": round(sum(secs) / max(len(secs), 1), 3),
            "cpu_seconds_per_image": round(
                sum(r[tool].get("cpu_seconds", r[tool]["seconds"]) for r in rows)
                / max(len(rows), 1),
                3,
            ),
            "negatives_rejected": sum(not r[tool]["valid"] for r in neg),
        }
        out["valid_read_rate" if tool == "fortify" else "passporteye_valid_read_rate"] = s[
            "valid_read_rate"
        ]
        out[tool] = s
    by: dict[str, list[dict[str, Any]]] = {}
    for r in pos:
        by.setdefault(str(Path(r["image"]).parent), []).append(r)
    out["by_folder"] = {
        k: {t: round(sum(x[t]["valid"] for x in v) / len(v), 4) for t in tools} | {"n": len(v)}
        for k, v in by.items()
    }
    return out
