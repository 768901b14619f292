"""Fingerprint evaluation on an FVC-style folder (``<finger>_<impression>.png``).

FVC protocol: genuine = every pair of impressions of one finger; impostor =
the first impressions of different fingers; plus "all pairs" (every impression
of different fingers) for finer FMR resolution. Failures to acquire count as
genuine misses. Peers run on the same pairs in the same run: NIST bozorth3 on
the same mindtct minutiae, and, where ISO templates of a third-party SDK lie
beside the images, our matcher on our template against theirs (interoperability).
"""

from __future__ import annotations

import logging
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np

from fortify.errors import FortifyError
from fortify.eval.det import DetCurve, verification_det
from fortify.eval.metrics import (
    open_set_identification,
    verification_rates,
)
from fortify.modalities.base import AcquireOptions
from fortify.modalities.finger import iso19794
from fortify.modalities.finger.engine import FingerModality
from fortify.modalities.finger.minutiae import Minutiae
from fortify.types import Template

log = logging.getLogger(__name__)

NAME = re.compile(r"^(?P<finger>[^_]+)_(?P<imp>\d+)$")
IMAGE_EXT = {".png", ".tif", ".tiff", ".bmp", ".jpg", ".jpeg", ".wsq"}
Progress = Callable[[int, int], None]
Matcher = Callable[[str, str], float]


@dataclass
class Prints:
    """The impressions of one folder and what each matcher needs of them."""

    keys: list[str]
    templates: dict[str, Template] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    extract_ms: list[float] = field(default_factory=list)
    nbis: dict[str, Any] = field(default_factory=dict)
    theirs: dict[str, Minutiae] = field(default_factory=dict)


def scan(directory: Path) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for p in sorted(directory.iterdir()):
        if p.suffix.lower() in IMAGE_EXT and NAME.match(p.stem):
            out[p.stem] = p
    return out


def finger_of(key: str) -> str:
    m = NAME.match(key)
    return m.group("finger") if m else key


def load_prints(
    mod: FingerModality, directory: Path, progress: Progress | None = None, peers: bool = True
) -> Prints:
    files = scan(directory)
    pr = Prints(sorted(files))
    nbis_ex = _nbis_extractor() if peers else None
    for i, key in enumerate(pr.keys):
        data = files[key].read_bytes()
        t0 = time.perf_counter()
        try:
            pr.templates[key] = mod.acquire(data, AcquireOptions()).template
            pr.extract_ms.append((time.perf_counter() - t0) * 1000)
        except FortifyError as exc:
            pr.failed[key] = exc.code
        if nbis_ex is not None and key in pr.templates:
            pr.nbis[key] = nbis_ex.extract_minutiae(files[key].read_bytes())
        iso = files[key].with_suffix(".iso")
        if peers and iso.exists() and key in pr.templates:
            pr.theirs[key] = _their_minutiae(iso, pr.templates[key])
        if progress:
            progress(i + 1, len(pr.keys))
    return pr


def _nbis_extractor() -> Any:
    import nbis

    return nbis.new_nbis_extractor(
        nbis.NbisExtractorSettings(
            min_quality=0.0,
            get_center=False,
            check_fingerprint=False,
            compute_nfiq2=False,
            ppi=500.0,
        )
    )


def _their_minutiae(path: Path, ours: Template) -> Minutiae:
    """A third-party ISO template; coordinates mapped to our image size if it resampled.

    The FVC2002 SDK templates declare 300x400 for 388x374 images (it resamples);
    the header's size against ours gives the scale.
    """
    m, _, _ = iso19794.read(path.read_bytes())
    ow, oh = _our_size(ours)
    if m.width and m.height and ow and oh and (m.width, m.height) != (ow, oh):
        sx, sy = ow / m.width, oh / m.height
        return Minutiae.of(m.x * sx, m.y * sy, m.angle, m.kind, m.quality, ow, oh)
    return m


def _our_size(t: Template) -> tuple[int, int]:
    m, _, _ = iso19794.read(t.payload)
    return m.width, m.height


def pairs(
    keys: list[str],
) -> tuple[list[tuple[str, str]], list[tuple[str, str]], list[tuple[str, str]]]:
    """(genuine, FVC impostor, all-pairs impostor) pairs of impression keys."""
    genuine, fvc, allp = [], [], []
    first: dict[str, str] = {}
    for k in keys:
        first.setdefault(finger_of(k), k)
    for a, b in combinations(keys, 2):
        if finger_of(a) == finger_of(b):
            genuine.append((a, b))
        else:
            allp.append((a, b))
            if first[finger_of(a)] == a and first[finger_of(b)] == b:
                fvc.append((a, b))
    return genuine, fvc, allp


def matchers(mod: FingerModality, pr: Prints) -> dict[str, Matcher]:
    """Our matcher and the peers that can run on this folder."""
    out: dict[str, Matcher] = {
        "fortify-mcc": lambda a, b: mod.compare(pr.templates[a], pr.templates[b]),
    }
    if pr.nbis:
        out["nbis-bozorth3"] = lambda a, b: float(pr.nbis[a].compare(pr.nbis[b]))
    if len(pr.theirs) == len(pr.templates):
        cyl = {k: mod._cylinders(iso19794.write(m)) for k, m in pr.theirs.items()}
        from fortify.modalities.finger import mcc

        out["fortify-mcc ours-vs-iso"] = lambda a, b: mcc.score(
            mod._cylinders(pr.templates[a].payload), cyl[b]
        )
    return out


def evaluate(mod: FingerModality, pr: Prints, label: str) -> dict[str, Any]:
    """Per matcher: EER, FMR100, FMR1000, ZeroFMR, FTA, open-set 1:N, timing."""
    genuine, fvc, allp = pairs(pr.keys)
    n_fail_gen = sum(1 for a, b in genuine if a in pr.failed or b in pr.failed)
    ok = [p for p in genuine if p[0] not in pr.failed and p[1] not in pr.failed]
    fvc_ok = [p for p in fvc if p[0] not in pr.failed and p[1] not in pr.failed]
    all_ok = [p for p in allp if p[0] not in pr.failed and p[1] not in pr.failed]
    out: dict[str, Any] = {
        "label": label,
        "images": len(pr.keys),
        "fta": round(len(pr.failed) / max(1, len(pr.keys)), 4),
        "failures": pr.failed,
        "extract_ms_p50": round(statistics.median(pr.extract_ms), 1) if pr.extract_ms else None,
        "matchers": {},
    }
    for t in pr.templates.values():  # cylinders are part of a template, not of a match
        mod._cylinders(t.payload)
    for name, match in matchers(mod, pr).items():
        t0 = time.perf_counter()
        g = np.array([match(a, b) for a, b in ok] + [-np.inf] * n_fail_gen)
        ms = (time.perf_counter() - t0) * 1000 / max(1, len(ok))
        imp = np.array([match(a, b) for a, b in fvc_ok])
        alli = np.array([match(a, b) for a, b in all_ok])
        out["matchers"][name] = {
            **_rates(g, imp),
            "all_pairs": _rates(g, alli),
            "open_set": _open_set(pr, match),
            "match_ms": round(ms, 3),
            "_det": verification_det(g, alli),
            "_impostor_all": alli,
        }
    return out


def _rates(g: np.ndarray, imp: np.ndarray) -> dict[str, Any]:
    v = verification_rates(g, imp, (0.01, 0.001))
    zero = float(np.mean(g <= imp.max())) if imp.size else 1.0
    return {
        "eer": round(v.eer, 4),
        "fmr100": round(v.operating_points[0].false_negative_rate, 4),
        "fmr1000": round(v.operating_points[1].false_negative_rate, 4),
        "fmr1000_resolution_limited": v.operating_points[1].resolution_limited,
        "zero_fmr": round(zero, 4),
        "n_genuine": v.n_genuine,
        "n_impostor": v.n_impostor,
    }


def _open_set(pr: Prints, match: Matcher) -> dict[str, Any]:
    """Gallery: first impression of the first half of the fingers; probes: the rest."""
    fingers = sorted({finger_of(k) for k in pr.keys})
    enrolled = fingers[: len(fingers) // 2]
    gallery = [k for k in pr.keys if finger_of(k) in enrolled and k.endswith("_1")]
    gallery = [k for k in gallery if k not in pr.failed]
    mated_s, mated_r, non = [], [], []
    fail_m = fail_n = 0
    for k in pr.keys:
        if k in gallery:
            continue
        mated = finger_of(k) in enrolled
        if k in pr.failed:
            fail_m += mated
            fail_n += not mated
            continue
        scores = sorted(((match(k, gk), gk) for gk in gallery), reverse=True)
        if mated:
            rank = next(
                (i + 1 for i, (_, gk) in enumerate(scores) if finger_of(gk) == finger_of(k)), 0
            )
            mated_s.append(scores[rank - 1][0] if rank else -np.inf)
            mated_r.append(rank)
        else:
            non.append(scores[0][0] if scores else -np.inf)
    if not mated_s or not non:
        return {}
    r = open_set_identification(
        mated_s, mated_r, non, (0.1, 0.01), n_failed_mated=fail_m, n_failed_nonmated=fail_n
    )
    d = r.to_dict()
    return {
        "gallery": len(gallery),
        "rank1": round(r.rank1, 4),
        "fnir_at_fpir_0.1": d.get("fnir_at_fpir_0.1"),
        "fnir_at_fpir_0.01": d.get("fnir_at_fpir_0.01"),
        "n_mated": len(mated_s) + fail_m,
        "n_nonmated": len(non) + fail_n,
    }


def public(report: dict[str, Any]) -> dict[str, Any]:
    """The report without the arrays (for JSON)."""
    out = dict(report)
    out["matchers"] = {
        name: {k: v for k, v in m.items() if not k.startswith("_")}
        for name, m in report["matchers"].items()
    }
    ours = out["matchers"].get("fortify-mcc", {})
    for k in ("eer", "fmr100", "fmr1000", "zero_fmr", "n_genuine", "n_impostor"):
        out[k] = ours.get(k)
    return out


def det_curves(report: dict[str, Any]) -> dict[str, DetCurve]:
    return {name: m["_det"] for name, m in report["matchers"].items()}
