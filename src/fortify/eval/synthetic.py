"""Synthetic face-like templates for the 1:N search benchmark (:mod:`.search_bench`).

:func:`synthetic_templates` makes a seeded gallery of identities with several noisy
samples each and planted mated probes, whose score distributions match the dlib
ResNet 128-d face model (L2-normalised) measured on 438 CelebA photos of 120 people:

    genuine  cosine 0.948 ± 0.023  (synthetic: 0.947 ± 0.024)
    impostor cosine 0.827 ± 0.039  (synthetic: 0.822 ± 0.040)

Model: ``x = normalise(mu + B z_identity + q W z_sample)`` with a shared mean ``mu``
(face embeddings are not centred: norm 0.9), between-identity covariance with a
power-law spectrum (exponent 0.9, total variance 0.125) and within-identity
covariance (exponent 0.2, total 0.044) in independent random bases, a per-sample
quality factor ``q ~ lognormal(0, 0.3)``, and 1 + Poisson(1.5) samples an identity.
Generated in chunks straight into ``.npy`` memory maps under a cache directory, so
10M templates (5.1 GB) never need to fit in RAM. No real person is depicted.

The default face model since issue 13, EdgeFace-S, makes 512-d templates with other
statistics; the ``edgeface512`` preset (:data:`MODELS`, ``fortify bench search --model``)
was fitted to its (v1) templates of the 4,155 CelebA dev photos it acquires (200 people):

    genuine  cosine 0.630 ± 0.181  (synthetic: 0.642 ± 0.172; v2 templates 0.640 ± 0.175)
    impostor cosine 0.018 ± 0.107, 99.9th percentile 0.362  (synthetic: 0.022 ± 0.111, 0.377)

(mean norm 0.15, between-identity variance 0.64 with exponent 0.9, within 0.3 with
exponent 1.0, quality sigma 0.5; ``bench/bench_synthetic512.py --grid``).

:func:`exact_search` and :func:`ground_truth` give the exact answers the benchmark
measures recall against; :func:`numpy_scan` is what simple tools do.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
CHUNK_IDENTITIES = 100_000


@dataclass(frozen=True)
class SyntheticSpec:
    """Everything that determines a synthetic gallery (and its cache key)."""

    n: int
    dim: int = 128
    seed: int = 0
    n_queries: int = 1000
    mated_share: float = 0.9
    mean_norm: float = 0.9
    between_var: float = 0.125
    between_decay: float = 0.9
    within_var: float = 0.044
    within_decay: float = 0.2
    quality_sigma: float = 0.3
    extra_samples: float = 1.5  # samples an identity = 1 + Poisson(extra_samples)
    generator: int = 2  # bump when the generating code changes (invalidates caches)

    def key(self) -> str:
        return hashlib.sha1(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:12]


@dataclass
class SyntheticSet:
    """Gallery templates (row ``i`` has template id ``i``), identity labels and probes."""

    spec: SyntheticSpec
    gallery: F32  # (n, dim), usually a read-only memmap
    labels: npt.NDArray[np.int32]  # identity of each gallery row
    queries: F32  # (n_queries, dim)
    query_labels: npt.NDArray[np.int32]  # identity of each probe; -1 = not enrolled
    directory: Path


MODELS: dict[str, dict[str, Any]] = {
    "dlib128": {},
    "edgeface512": {
        "dim": 512,
        "mean_norm": 0.15,
        "between_var": 0.64,
        "between_decay": 0.9,
        "within_var": 0.3,
        "within_decay": 1.0,
        "quality_sigma": 0.5,
    },
}
"""Synthetic template families by the face model they imitate (``SyntheticSpec`` fields)."""


def model_spec(model: str, **fields: Any) -> SyntheticSpec:
    """The :class:`SyntheticSpec` imitating ``model`` (a :data:`MODELS` key)."""
    if model not in MODELS:
        raise ValueError(f"unknown synthetic model {model!r}; one of {', '.join(MODELS)}")
    return SyntheticSpec(**{**MODELS[model], **fields})


def default_cache() -> Path:
    fallback = Path(tempfile.gettempdir()) / "fortify-bench"
    return Path(os.environ.get("FORTIFY_BENCH_CACHE", fallback))


def _model(spec: SyntheticSpec) -> tuple[F32, F32, F32]:
    rng = np.random.default_rng([spec.seed, 0])
    d = spec.dim
    mu = rng.standard_normal(d)
    mu *= spec.mean_norm / np.linalg.norm(mu)
    bases = []
    shapes = ((spec.between_var, spec.between_decay), (spec.within_var, spec.within_decay))
    for var, decay in shapes:
        q, _ = np.linalg.qr(rng.standard_normal((d, d)))
        lam = np.arange(1, d + 1, dtype=np.float64) ** -decay
        lam *= var / lam.sum()
        bases.append((q * np.sqrt(lam)).T.astype(np.float32))  # z @ basis: (m, d)
    return mu.astype(np.float32), bases[0], bases[1]


def _samples(
    rng: np.random.Generator, spec: SyntheticSpec, centres: F32, who: I64, w: F32, mu: F32
) -> F32:
    z = rng.standard_normal((len(who), spec.dim), dtype=np.float32) @ w
    z *= np.exp(spec.quality_sigma * rng.standard_normal(len(who))).astype(np.float32)[:, None]
    x = mu + centres[who] + z
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32)


def synthetic_templates(spec: SyntheticSpec, cache: Path | None = None) -> SyntheticSet:
    """Load the gallery for ``spec`` from the cache, generating it first if needed."""
    root = (cache or default_cache()) / f"n{spec.n}-d{spec.dim}-{spec.key()}"
    done = root / "spec.json"
    if not done.exists():
        root.mkdir(parents=True, exist_ok=True)
        _generate(spec, root)
        done.write_text(json.dumps(asdict(spec), indent=1))
    return SyntheticSet(
        spec,
        np.load(root / "gallery.npy", mmap_mode="r"),
        np.load(root / "labels.npy", mmap_mode="r"),
        np.load(root / "queries.npy"),
        np.load(root / "query_labels.npy"),
        root,
    )


def _generate(spec: SyntheticSpec, root: Path) -> None:
    log.info("generating %d synthetic templates into %s", spec.n, root)
    mu, b, w = _model(spec)
    gal = np.lib.format.open_memmap(
        root / "gallery.npy", mode="w+", dtype=np.float32, shape=(spec.n, spec.dim)
    )
    labels = np.lib.format.open_memmap(
        root / "labels.npy", mode="w+", dtype=np.int32, shape=(spec.n,)
    )
    n_mated = round(spec.n_queries * spec.mated_share)
    p_probe = min(1.0, 1.3 * n_mated * (1 + spec.extra_samples) / spec.n)
    probes: list[F32] = []
    probe_ids: list[I64] = []
    row, chunk = 0, 0
    while row < spec.n:
        rng = np.random.default_rng([spec.seed, 1, chunk])
        n_id = min(CHUNK_IDENTITIES, int((spec.n - row) / (1 + spec.extra_samples) * 1.2) + 64)
        centres = rng.standard_normal((n_id, spec.dim), dtype=np.float32) @ b
        counts = 1 + rng.poisson(spec.extra_samples, n_id)
        who = np.repeat(np.arange(n_id), counts)[: spec.n - row]
        x = _samples(rng, spec, centres, who, w, mu)
        gal[row : row + len(x)] = x
        labels[row : row + len(x)] = who + chunk * CHUNK_IDENTITIES
        enrolled = np.unique(who)
        pick = enrolled[rng.random(len(enrolled)) < p_probe]
        probes.append(_samples(rng, spec, centres, pick, w, mu))
        probe_ids.append(pick + chunk * CHUNK_IDENTITIES)
        row += len(x)
        chunk += 1
    gal.flush()
    labels.flush()
    rng = np.random.default_rng([spec.seed, 2])
    mated, mated_ids = np.vstack(probes), np.concatenate(probe_ids)
    keep = np.sort(rng.choice(len(mated), min(n_mated, len(mated)), replace=False))
    n_non = spec.n_queries - len(keep)
    strangers = rng.standard_normal((n_non, spec.dim), dtype=np.float32) @ b
    non = _samples(rng, spec, strangers, np.arange(n_non), w, mu)
    q = np.vstack([mated[keep], non]).astype(np.float32)
    ql = np.concatenate([mated_ids[keep], np.full(n_non, -1)]).astype(np.int32)
    order = rng.permutation(len(q))
    np.save(root / "queries.npy", q[order])
    np.save(root / "query_labels.npy", ql[order])


def exact_search(gallery: F32, queries: F32, k: int, chunk: int = 1 << 20) -> tuple[F32, I64]:
    """Exact inner-product top-``k`` with FAISS's flat kernel, ``chunk`` rows at a time."""
    import faiss

    nq = len(queries)
    best_d = np.full((nq, k), -np.inf, dtype=np.float32)
    best_i = np.full((nq, k), -1, dtype=np.int64)
    for s in range(0, len(gallery), chunk):
        part = np.ascontiguousarray(gallery[s : s + chunk])
        d, i = faiss.knn(queries, part, min(k, len(part)), metric=faiss.METRIC_INNER_PRODUCT)
        d_all = np.hstack([best_d, d])
        i_all = np.hstack([best_i, np.where(i >= 0, i + s, -1)])
        order = np.argsort(-d_all, axis=1, kind="stable")[:, :k]
        best_d = np.take_along_axis(d_all, order, axis=1)
        best_i = np.take_along_axis(i_all, order, axis=1)
    return best_d, best_i


def ground_truth(data: SyntheticSet, k: int = 10) -> I64:
    """Exact top-``k`` ids of every probe, cached beside the gallery."""
    path = data.directory / f"exact_k{k}.npy"
    if path.exists():
        cached: I64 = np.load(path)
        return cached
    _, ids = exact_search(data.gallery, data.queries, k)
    np.save(path, ids)
    return ids


def numpy_scan(gallery: F32, query: F32, k: int, chunk: int = 1 << 21) -> I64:
    """What simple tools do (face_recognition.face_distance): Euclidean distance from the
    probe to every template, then sort. Chunked only so 10M rows fit in memory."""
    dist = np.empty(len(gallery), dtype=np.float32)
    for s in range(0, len(gallery), chunk):
        dist[s : s + chunk] = np.linalg.norm(gallery[s : s + chunk] - query, axis=1)
    part = np.argpartition(dist, k)[:k]
    out: I64 = part[np.argsort(dist[part])].astype(np.int64)
    return out


def describe(data: SyntheticSet, sample: int = 2000) -> dict[str, Any]:
    """Genuine / impostor cosine statistics of the first ``sample`` gallery rows."""
    x = np.asarray(data.gallery[:sample])
    lab = np.asarray(data.labels[:sample])
    s = x @ x.T
    iu = np.triu_indices(len(x), 1)
    same = (lab[:, None] == lab[None, :])[iu]
    g, i = s[iu][same], s[iu][~same]
    return {
        "genuine_mean": float(g.mean()),
        "genuine_std": float(g.std()),
        "impostor_mean": float(i.mean()),
        "impostor_std": float(i.std()),
        "impostor_p99.9": float(np.percentile(i, 99.9)),
    }
