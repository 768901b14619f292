"""What the face-model benches share: extract per-photo parts once, store them, time stages.

Used by bench_align.py, bench_fusion.py and bench_edgeface.py (bench/ is on the path).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from fortify.errors import FortifyError
from fortify.eval.protocol import list_identities
from fortify.modalities.face.engine import Engine
from fortify.modalities.face.fused import FusedExtractor

OneResult = tuple[str, Any, float]
"""(resolved path, its parts or a failure code, seconds) of one photo."""


def _timed(one: Callable[[str], Any], path: str) -> OneResult:
    """``one(path)``, timed; a FortifyError (no face, bad image...) becomes its code."""
    t0 = time.perf_counter()
    try:
        return path, one(path), time.perf_counter() - t0
    except FortifyError as exc:
        return path, exc.code, time.perf_counter() - t0


def extract_all(
    root: Path,
    workers: int,
    init: Callable[..., None],
    initargs: tuple[Any, ...],
    one: Callable[[str], Any],
) -> tuple[dict[str, Any], list[float], float]:
    """``one`` (path -> parts) over every photo of ``root``'s identities in worker processes.

    Returns path -> parts (or failure code), the seconds of each photo, and the wall time.
    """
    paths = sorted(str(p.resolve()) for ps in list_identities(root).values() for p in ps)
    results: dict[str, Any] = {}
    secs: list[float] = []
    t0 = time.perf_counter()
    with ProcessPoolExecutor(workers, initializer=init, initargs=initargs) as pool:
        for i, (p, v, s) in enumerate(pool.map(partial(_timed, one), paths, chunksize=8)):
            results[p] = v
            secs.append(s)
            if i % 200 == 0:
                print(f"{i}/{len(paths)} {time.perf_counter() - t0:.0f}s", file=sys.stderr)
    return results, secs, time.perf_counter() - t0


def fused_face(eng: Engine, path: str) -> tuple[Any, Any, FusedExtractor]:
    """(image, largest face, the fused extractor) of one photo, with a fused-model engine."""
    im = eng.load(path)
    det, _ = eng.acquire(im, face="largest")
    ex = eng.extractor
    assert isinstance(ex, FusedExtractor) and det.chip is not None
    return im, det, ex


def with_mirror(extract_chip: Callable[[Any], Any], chip: Any) -> np.ndarray:  # type: ignore[type-arg]
    """The template vectors (2, dim) of ``chip`` and of its mirror image."""
    mirror = np.ascontiguousarray(chip[:, ::-1])
    return np.stack([extract_chip(chip).vector, extract_chip(mirror).vector])


def split_results(results: dict[str, Any]) -> tuple[list[tuple[str, Any]], list[tuple[str, str]]]:
    """(path, parts) of the photos that gave parts, (path, code) of those that failed."""
    ok = [(p, v) for p, v in results.items() if not isinstance(v, str)]
    fail = [(p, v) for p, v in results.items() if isinstance(v, str)]
    return ok, fail


def save_parts(path: Path, ok_paths: list[str], fail: list[tuple[str, str]], **arrays: Any) -> None:
    """One ``.npz`` of the parts: ``ok_paths``, ``fail_paths``, ``fail_codes`` and ``arrays``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        path,
        ok_paths=np.array(ok_paths),
        fail_paths=np.array([p for p, _ in fail], dtype=str),
        fail_codes=np.array([c for _, c in fail], dtype=str),
        **arrays,
    )


Timed = Callable[..., Any]


def probe_latency(
    eng: Engine, root: Path, n: int, template: Callable[[Any, Any, Timed], None]
) -> None:
    """Per-stage latency of ``n`` probes (decode, detect, then ``template``'s stages).

    ``template(image, detection, timed)`` runs the model's stages through
    ``timed(name, f, *args)``. Prints p50 wall / p50 CPU / p90 wall ms per stage; run it
    pinned to one core (``taskset -c 1``), with onnxruntime and OpenCV on one thread.
    """
    import cv2

    cv2.setNumThreads(1)
    paths = sorted(p for ps in list_identities(root).values() for p in ps)[:: max(1, 4163 // n)]
    stages: dict[str, list[tuple[float, float]]] = {}

    def timed(name: str, f: Any, *args: Any, **kw: Any) -> Any:
        w0, c0 = time.perf_counter(), time.process_time()
        out = f(*args, **kw)
        stages.setdefault(name, []).append((time.perf_counter() - w0, time.process_time() - c0))
        return out

    for p in paths[:n]:
        data = p.read_bytes()
        w0, c0 = time.perf_counter(), time.process_time()
        im = timed("decode", eng.load, data)
        try:
            det, _ = timed(
                "detect (YuNet + dlib 5 points + quality)", eng.acquire, im, face="largest"
            )
        except FortifyError:
            continue
        template(im, det, timed)
        stages.setdefault("probe total", []).append(
            (time.perf_counter() - w0, time.process_time() - c0)
        )
    print(f"model {eng.model_id}: {eng.extractor.model_version}")
    print(
        f"| stage ({len(stages['probe total'])} photos) | p50 wall ms | p50 CPU ms | p90 wall ms |"
    )
    print("|---|---|---|---|")
    for k, v in stages.items():
        a = np.array(v) * 1000
        print(
            f"| {k} | {np.median(a[:, 0]):.1f} | {np.median(a[:, 1]):.1f} |"
            f" {np.percentile(a[:, 0], 90):.1f} |"
        )
