"""Template extraction for evaluations: parallel workers and an on-disk cache."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from fortify.config import Settings
from fortify.errors import FortifyError
from fortify.modalities.face.engine import Engine

log = logging.getLogger(__name__)

Vector = npt.NDArray[np.float32]
Outcome = Vector | str  # a template, or the error code of a failure to acquire
_engine: Engine | None = None

# settings that change templates; anything else may differ between cached runs
TEMPLATE_KEYS = (
    "face_model",
    "embed_runtime",
    "detector",
    "detector_upsample",
    "cnn_upsample",
    "min_face_px",
    "cascade_fast",
    "max_detect_side",
    "flip_average",
)


def _init(settings: dict[str, Any]) -> None:
    global _engine
    _engine = Engine(Settings(**settings)).prepare()


def _one(path: str) -> tuple[str, Outcome, float]:
    import time

    eng = _engine
    if eng is None:
        raise RuntimeError("worker not initialised")
    t0 = time.perf_counter()
    try:
        r = eng.process(eng.load(path), face="largest")
        return path, np.asarray(r.template.vector, dtype=np.float32), time.perf_counter() - t0
    except FortifyError as exc:
        return path, exc.code, time.perf_counter() - t0


def model_tag(settings: Settings) -> str:
    """What of the model is fixed in code, not settings (the fused template's weight)."""
    if settings.face_model.startswith("fused-dlib-sface-"):
        from fortify.modalities.face.fused import DLIB_WEIGHT

        return f"w={DLIB_WEIGHT}"
    if settings.face_model.startswith("edgeface-s-"):
        # unusable crops refused; turned copies and the next largest face tried
        from fortify.modalities.face.edgeface import NULL_MAX

        return f"null<={NULL_MAX};turns;next-largest"
    return ""


def cache_key(settings: Settings) -> str:
    d = settings.model_dump(mode="json")
    sub = {k: d.get(k) for k in TEMPLATE_KEYS}
    if tag := model_tag(settings):
        sub["model_tag"] = tag
    if settings.detector == "yunet":
        sub["yunet_score_threshold"] = d.get("yunet_score_threshold")
    return hashlib.sha256(json.dumps(sub, sort_keys=True).encode()).hexdigest()[:12]


def extract_many(
    paths: list[Path],
    settings: Settings,
    *,
    workers: int = 2,
    cache_dir: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[dict[str, Outcome], list[float]]:
    """Templates (or failure codes) for ``paths``; returns them and per-image seconds."""
    cache: dict[str, Outcome] = {}
    cache_file = None
    if cache_dir is not None:
        cache_dir.mkdir(parents=True, exist_ok=True)
        cache_file = cache_dir / f"templates-{cache_key(settings)}.npz"
        cache = _load(cache_file)
    given = paths
    paths = [p.resolve() for p in paths]  # cache keys are absolute paths
    todo = [str(p) for p in paths if str(p) not in cache]
    times: list[float] = []
    done = len(paths) - len(todo)
    if progress:
        progress(done, len(paths))
    if todo:
        init_args = (settings.model_dump(mode="json"),)
        Engine(settings).prepare_files()  # once, not in each worker at the same time
        with ProcessPoolExecutor(max(1, workers), initializer=_init, initargs=init_args) as pool:
            for path, out, secs in pool.map(_one, todo, chunksize=8):
                cache[path] = out
                times.append(secs)
                done += 1
                if progress:
                    progress(done, len(paths))
        if cache_file is not None:
            _save(cache_file, cache)
    return {str(g): cache[str(p)] for g, p in zip(given, paths, strict=True)}, times


def _load(path: Path) -> dict[str, Outcome]:
    if not path.exists():
        return {}
    try:
        z = np.load(path, allow_pickle=False)
        out: dict[str, Outcome] = {}
        for p, v in zip(z["ok_paths"], z["ok_vectors"], strict=True):
            out[str(p)] = v.astype(np.float32)
        for p, c in zip(z["fail_paths"], z["fail_codes"], strict=True):
            out[str(p)] = str(c)
        return out
    except (OSError, ValueError, KeyError):
        log.warning("ignoring unreadable template cache %s", path)
        return {}


def _save(path: Path, cache: dict[str, Outcome]) -> None:
    ok = [(p, v) for p, v in cache.items() if not isinstance(v, str)]
    fail = [(p, v) for p, v in cache.items() if isinstance(v, str)]
    tmp = path.with_suffix(f".tmp{os.getpid()}.npz")
    np.savez(
        tmp,
        ok_paths=np.array([p for p, _ in ok], dtype=str),
        ok_vectors=np.stack([v for _, v in ok]) if ok else np.zeros((0, 1), np.float32),
        fail_paths=np.array([p for p, _ in fail], dtype=str),
        fail_codes=np.array([c for _, c in fail], dtype=str),
    )
    os.replace(tmp, path)
