"""``fortify eval face``: a seeded, NIST-FRTE-style open-set 1:N evaluation on a folder.

Half the identities are enrolled (one image each, or all but one), probes are
their other images (mated) plus every image of the other half (non-mated).
Failures to acquire (no usable face) count as misses and are reported apart.
Scores are per identity: the best over that identity's enrolled templates, as
in the live search. Verification (1:1) uses every pair of acquired images.
"""

from __future__ import annotations

import csv
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from fortify.config import Settings
from fortify.errors import InvalidInput
from fortify.eval.bootstrap import Probes, group_ratio_intervals
from fortify.eval.det import DetCurve, identification_det, verification_det
from fortify.eval.groups import per_group
from fortify.eval.metrics import (
    FmrTable,
    _mated_hits,
    open_set_identification,
    score_to_fpr_table,
    verification_rates,
)
from fortify.eval.protocol import all_pairs, list_identities, pair_scores, split_open_set
from fortify.eval.templates import Outcome, extract_many, model_tag
from fortify.matching.probe_tail import ProbeTail
from fortify.matching.probe_tail import probe_tail as probe_tail_table

log = logging.getLogger(__name__)


@dataclass
class FaceEvalReport:
    metrics: dict[str, Any]
    curves: dict[str, DetCurve] = field(default_factory=dict)
    impostor_table: FmrTable | None = None
    nonmated_top: np.ndarray[Any, Any] | None = None
    """Best score of each acquired non-mated probe (for calibration checks)."""
    gallery_templates: int = 0
    probe_tail: ProbeTail | None = None
    """The per-probe impostor tail (with ``probe_tail=True``; for ``--calibration-out``)."""
    group_probes: tuple[Probes, Probes] | None = None
    """(mated, non-mated) probes with their groups, when groups were given (for plots)."""


def _per_identity_max(
    scores: np.ndarray[Any, Any], owners: np.ndarray[Any, Any], n_ids: int
) -> np.ndarray[Any, Any]:
    """(n_probes, n_templates) -> (n_probes, n_identities), best template per identity."""
    out = np.full((scores.shape[0], n_ids), -np.inf, dtype=np.float32)
    for j in range(n_ids):
        cols = owners == j
        if cols.any():
            out[:, j] = scores[:, cols].max(axis=1)
    return out


DUPLICATE_COSINE = 0.995
"""The same photograph, re-encoded or re-cropped, for dlib's ResNet (and the fused models,
whose dlib part is compared)."""
DUPLICATE_COSINE_BY_MODEL = {"edgeface-s-v1": 0.98, "edgeface-s-v2": 0.98}
"""EdgeFace spreads templates wider: on the dev photos the one re-encoded photograph filed
under two identities (7392, 7393) scores 0.989 (v2: 0.992; dlib 0.999) and the closest
pair of different photos in different folders 0.956 (v2: every cross-folder pair above
0.95 is one of 7392/7393's; bench/bench_edgeface.py data)."""


def merge_duplicate_identities(
    folders: dict[str, list[Path]],
    outcomes: dict[str, Outcome],
    threshold: float = DUPLICATE_COSINE,
) -> tuple[dict[str, list[Path]], list[list[str]]]:
    """Merge identity folders that hold the same photograph (label noise in the data).

    Two folders sharing a near-identical image (template cosine >= ``threshold``, i.e. the
    same photo re-encoded or re-cropped) cannot be two different people; counting
    their matches as false positives would charge the matcher for the labels' error.
    Returns the merged mapping and the groups merged (reported with the metrics).
    """
    names = sorted(folders)
    rows = [(n, v) for n in names for p in folders[n] if not isinstance(v := outcomes[str(p)], str)]
    if not rows:
        return folders, []
    x = np.stack([v for _, v in rows]).astype(np.float32)
    owner = np.array([names.index(n) for n, _ in rows])
    parent = list(range(len(names)))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for start in range(0, len(x), 1024):
        s = x[start : start + 1024] @ x.T
        ii, jj = np.nonzero(s >= threshold)
        for i, j in zip(ii + start, jj, strict=True):
            a, b = find(int(owner[i])), find(int(owner[j]))
            if a != b:
                parent[max(a, b)] = min(a, b)
    groups: dict[int, list[str]] = {}
    for k, n in enumerate(names):
        groups.setdefault(find(k), []).append(n)
    merged = {"+".join(g): [p for n in g for p in folders[n]] for g in groups.values()}
    return merged, [g for g in groups.values() if len(g) > 1]


def _duplicate_view(
    outcomes: dict[str, Outcome], settings: Settings
) -> tuple[dict[str, Outcome], float]:
    """The templates and cosine the same-photograph test compares for this model.

    The 0.995 is set for dlib's ResNet, so a fused template is compared by its dlib part;
    EdgeFace has its own cosine (:data:`DUPLICATE_COSINE_BY_MODEL`).
    """
    if not settings.face_model.startswith("fused-dlib-sface-"):
        return outcomes, DUPLICATE_COSINE_BY_MODEL.get(settings.face_model, DUPLICATE_COSINE)
    from fortify.modalities.face.fused import split

    out: dict[str, Outcome] = {}
    for k, v in outcomes.items():
        if isinstance(v, str):
            out[k] = v
        else:
            d = split(v)[0]
            out[k] = (d / max(float(np.linalg.norm(d)), 1e-12)).astype(np.float32)
    return out, DUPLICATE_COSINE


def read_groups(path: Path, column: str | None = None) -> dict[str, str]:
    """``identity,group[,group...]`` rows (a header row is allowed): identity -> group.

    ``column`` names the header's column to group by (``sex``, ``age``); the default is
    the second column. A missing file or column is a :class:`InvalidInput`.
    """
    try:
        with path.open(newline="") as f:
            rows = [r for r in csv.reader(f) if len(r) >= 2]
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read groups file {path}: {exc}") from exc
    col = 1
    header = (
        rows[0] if rows and rows[0][0].strip().lower() in ("identity", "id", "reference") else None
    )
    if header is not None:
        rows = rows[1:]
        if column is not None:
            names = [h.strip().lower() for h in header]
            if column.strip().lower() not in names[1:]:
                raise InvalidInput(
                    f"groups file {path} has no column {column!r} (columns: {', '.join(names[1:])})"
                )
            col = names.index(column.strip().lower())
    elif column is not None:
        raise InvalidInput(f"groups file {path} has no header row to find column {column!r}")
    # an empty label is no label: the identity counts as "unknown"
    return {r[0].strip(): r[col].strip() for r in rows if len(r) > col and r[col].strip()}


def _pair(worst: str | None, best: str | None) -> tuple[str, str] | None:
    return (worst, best) if worst is not None and best is not None and worst != best else None


def evaluate_face(
    root: Path,
    settings: Settings,
    *,
    seed: int = 0,
    enroll: Literal["one", "all_but_one"] = "one",
    max_identities: int | None = None,
    workers: int = 2,
    cache_dir: Path | None = None,
    groups: dict[str, str] | None = None,
    progress: Callable[[int, int], None] | None = None,
    label: str | None = None,
    merge_duplicates: bool = True,
    outcomes: dict[str, Outcome] | None = None,
    duplicate_outcomes: dict[str, Outcome] | None = None,
    probe_tail: bool = False,
    ratio_resamples: int = 1000,
) -> FaceEvalReport:
    """``outcomes`` (path -> template or failure code) skips extraction (bench scripts);
    ``duplicate_outcomes`` (same keys) are the templates the label-noise merge compares
    (default: the dlib part of ``outcomes``), so bench rows of other models merge the
    same folders. ``ratio_resamples``: bootstrap resamples of the identities for the
    intervals of the groups' worst/best ratios (:mod:`fortify.eval.bootstrap`)."""
    t_start = time.perf_counter()
    folders = list_identities(root)
    if max_identities is not None and 0 < max_identities < len(folders):
        # the seeded subset first, so a quick run extracts only its own photos
        pick = np.random.default_rng(seed).permutation(np.array(sorted(folders), dtype=object))
        folders = {k: folders[k] for k in sorted(pick[:max_identities].tolist())}
    every = sorted(p for ps in folders.values() for p in ps)
    secs: list[float] = []
    if outcomes is None:
        outcomes, secs = extract_many(
            every, settings, workers=workers, cache_dir=cache_dir, progress=progress
        )
    else:
        outcomes = {str(p): outcomes[str(p.resolve())] for p in every}
    merges: list[list[str]] = []
    if merge_duplicates:
        if duplicate_outcomes is None:
            dup, thr = _duplicate_view(outcomes, settings)
        else:  # a bench's dlib templates, so rows of every model merge the same folders
            dup = {str(p): duplicate_outcomes[str(p.resolve())] for p in every}
            thr = DUPLICATE_COSINE
        folders, merges = merge_duplicate_identities(folders, dup, thr)
    split = split_open_set(
        folders,
        seed=seed,
        enroll_per_identity=1 if enroll == "one" else "all_but_one",
        max_identities=max_identities,
    )

    def ok(p: Path) -> bool:
        return not isinstance(outcomes[str(p)], str)

    def vec(p: Path) -> Outcome:
        return outcomes[str(p)]

    ids = list(split.gallery_identities)
    index_of = {i: n for n, i in enumerate(ids)}
    gallery_items = list(split.gallery)
    mated_items = list(split.mated_probes)
    # A failed enrolment capture is re-taken at enrolment time: use the identity's next
    # acquirable image instead (and drop it from the probes). Counted as failure to enrol.
    fte = sorted({i for i, p in gallery_items if not ok(p)})
    for i in fte:
        if any(ok(p) for j, p in gallery_items if j == i):
            continue
        spare = next(((j, p) for j, p in mated_items if j == i and ok(p)), None)
        if spare is not None:
            mated_items.remove(spare)
            gallery_items.append(spare)
    g_rows = [(index_of[i], vec(p)) for i, p in gallery_items if ok(p)]
    never = [i for i in ids if i not in {ids[j] for j, _ in g_rows}]
    gallery = np.stack([v for _, v in g_rows]).astype(np.float32)
    owners = np.array([j for j, _ in g_rows])

    mated = [(i, p) for i, p in mated_items if ok(p)]
    n_failed_mated = len(mated_items) - len(mated)
    nonmated = [(i, p) for i, p in split.nonmated_probes if ok(p)]
    n_failed_nonmated = len(split.nonmated_probes) - len(nonmated)

    def id_scores(items: list[tuple[str, Path]]) -> np.ndarray[Any, Any]:
        if not items:
            return np.zeros((0, len(ids)), np.float32)
        probes = np.stack([vec(p) for _, p in items]).astype(np.float32)
        return _per_identity_max(probes @ gallery.T, owners, len(ids))

    sm = id_scores(mated)
    mate_cols = np.array([index_of[i] for i, _ in mated], dtype=np.int64)
    mate_scores = sm[np.arange(len(mated)), mate_cols] if len(mated) else np.zeros(0)
    mate_ranks = (sm > mate_scores[:, None]).sum(axis=1) + 1
    mate_ranks = np.where(np.isfinite(mate_scores), mate_ranks, 10**9)
    mate_scores = np.where(np.isfinite(mate_scores), mate_scores, np.nan)
    sn = id_scores(nonmated)
    top_non = sn.max(axis=1) if len(nonmated) else np.zeros(0)

    ident = open_set_identification(
        mate_scores,
        mate_ranks,
        top_non,
        n_failed_mated=n_failed_mated,
        n_failed_nonmated=n_failed_nonmated,
    )
    name = label or settings.face_model
    curves = {
        f"{name} 1:N": identification_det(
            mate_scores,
            mate_ranks,
            top_non,
            n_failed_mated=n_failed_mated,
            n_failed_nonmated=n_failed_nonmated,
        )
    }

    # 1:1 on all pairs of acquired images
    acq = [
        (i, p)
        for i, p in sorted(set(split.gallery + split.mated_probes + split.nonmated_probes))
        if ok(p)
    ]
    labels = [i for i, _ in acq]
    x = np.stack([vec(p) for _, p in acq]).astype(np.float32)
    gen, imp = all_pairs(labels)
    gs, ims = pair_scores(x, gen), pair_scores(x, imp)
    verif = verification_rates(gs, ims, fmr_targets=(1e-3, 1e-4))
    curves[f"{name} 1:1"] = verification_det(gs, ims)

    metrics: dict[str, Any] = {
        "model": settings.face_model,
        "label": name,
        "settings": {
            "embed_runtime": settings.embed_runtime,
            "detector": settings.detector,
            "detector_upsample": settings.detector_upsample,
            "flip_average": settings.flip_average,
            "model_version": model_tag(settings),
        },
        "protocol": {"seed": seed, "enroll": enroll, **split.summary()},
        **ident.to_dict(),
        "failure_to_enroll": len(fte) / max(1, len(ids)),
        "identities_never_enrolled": len(never),
        "fnmr_at_fmr_0.001": verif.to_dict()["fnmr_at_fmr_0.001"],
        "verification": verif.to_dict(),
        "label_noise_merged": merges,
        "images": len(every),
        "acquired": len(acq),
        "failures_by_code": dict(
            sorted(
                Counter(v for v in map(outcomes.get, map(str, every)) if isinstance(v, str)).items()
            )
        ),
        "ms_per_image_p50": round(float(np.median(secs)) * 1000, 1) if secs else None,
        "seconds": round(time.perf_counter() - t_start, 1),
    }
    group_probes: tuple[Probes, Probes] | None = None
    if groups:
        mated_ids = [i for i, _ in mated]
        nonmated_ids = [i for i, _ in nonmated]
        failed_m = [i for i, p in mated_items if not ok(p)]
        failed_n = [i for i, p in split.nonmated_probes if not ok(p)]
        mg, ng, fm, fn = (
            [groups.get(i, "unknown") for i in ids]
            for ids in (mated_ids, nonmated_ids, failed_m, failed_n)
        )
        pg = per_group(
            mate_scores,
            mate_ranks,
            mg,
            top_non,
            ng,
            failed_mated_groups=fm,
            failed_nonmated_groups=fn,
        )
        metrics["per_group"] = pg.to_dict()
        group_probes = (
            Probes.of(
                np.concatenate([_mated_hits(mate_scores, mate_ranks, 1), [-np.inf] * len(fm)]),
                mated_ids + failed_m,
                mg + fm,
            ),
            Probes.of(
                np.concatenate([top_non, [-np.inf] * len(fn)]), nonmated_ids + failed_n, ng + fn
            ),
        )
        metrics["per_group"]["bootstrap"] = group_ratio_intervals(
            *group_probes,
            fnir_pair=_pair(pg.worst_fnir_group, pg.best_fnir_group),
            fpir_pair=_pair(pg.worst_fpir_group, pg.best_fpir_group),
            resamples=ratio_resamples,
            seed=seed,
        ).to_dict()
    table = score_to_fpr_table(ims)
    tail = probe_tail_table(x, [str(v) for v in labels], table.scores) if probe_tail else None
    return FaceEvalReport(metrics, curves, table, top_non, len(gallery), tail, group_probes)
