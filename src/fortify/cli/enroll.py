"""``fortify enroll DIR``: one sub-folder per identity (folder name = reference)."""

from __future__ import annotations

import hashlib
import os
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
from rich.table import Table
from sqlalchemy import select

from fortify.cli.common import Ctx, common_options, fail, handle_errors, pass_ctx, print_json
from fortify.config import Settings
from fortify.errors import DuplicateSample, FortifyError
from fortify.imaging import encode_jpeg, read_bytes
from fortify.modalities.base import AcquireOptions, Modality, PreparesFiles, finger_position
from fortify.modalities.face.engine import Engine, FacePick
from fortify.modalities.registry import Registry
from fortify.procs import die_with_parent
from fortify.store.tables import Identity, Sample, Source

_worker_engine: Engine | None = None
_worker_modality: Modality | None = None
_worker_max_bytes = 0


def _init_worker(
    settings: dict[str, Any], modality: str = "face", parent_pid: int | None = None
) -> None:
    global _worker_engine, _worker_modality, _worker_max_bytes
    die_with_parent(parent_pid)  # a kill -9 of `fortify enroll` takes its workers along
    s = Settings(**settings)
    _worker_max_bytes = s.max_upload_bytes
    if modality == "face":
        _worker_engine = Engine(s).prepare()
    _worker_modality = Registry(s, face_engine=_worker_engine).get(modality).prepare()


def _prepare(job: tuple[str, FacePick] | tuple[str, FacePick, int]) -> tuple[str, Any]:
    """Decode + detect/segment + template in a worker process (any modality)."""
    path, face = job[0], job[1]
    finger = job[2] if len(job) > 2 else 0
    mod = _worker_modality
    if mod is None:
        raise RuntimeError("worker not initialised")
    try:
        data = read_bytes(path, _worker_max_bytes)
        opts = AcquireOptions(strict_quality=True, face=face, finger_position=finger)
        result = mod.acquire(data, opts)
        jpeg = encode_jpeg(result.image) if result.image is not None else b""
        return path, (data, jpeg, replace(result, image=None))
    except FortifyError as exc:
        return path, (exc.code, exc.message)


def _skip_enrolled(
    g: Any, items: list[tuple[str, Path]], source: str
) -> tuple[list[tuple[str, Path]], list[dict[str, str]]]:
    """Drop files whose exact bytes are already a sample of that reference (a resumed run)."""
    with g.db.session() as s:
        have = {
            (ref, digest): sid
            for ref, digest, sid in s.execute(
                select(Identity.reference, Sample.image_sha256, Sample.id)
                .join(Sample, Sample.identity_id == Identity.id)
                .join(Source, Source.id == Identity.source_id)
                .where(Source.name == source)
            )
        }
    if not have:
        return items, []
    keep: list[tuple[str, Path]] = []
    skipped: list[dict[str, str]] = []
    for ref, f in items:
        try:
            digest = hashlib.sha256(f.read_bytes()).hexdigest()
        except OSError:
            keep.append((ref, f))  # the worker reports the read error
            continue
        sid = have.get((ref, digest))
        if sid is None:
            keep.append((ref, f))
        else:
            skipped.append({"file": str(f), "sample_id": sid})
    return keep, skipped


def scan(root: Path) -> tuple[list[tuple[str, Path]], list[Path]]:
    """(reference, file) pairs from identity folders, and files outside any folder."""
    items: list[tuple[str, Path]] = []
    loose: list[Path] = []
    for entry in sorted(root.iterdir()):
        if entry.is_dir():
            items += [(entry.name, f) for f in sorted(entry.iterdir()) if f.is_file()]
        elif entry.is_file():
            loose.append(entry)
    return items, loose


def enroll_dir(
    ctx: Ctx,
    root: Path,
    *,
    source: str,
    face: FacePick,
    workers: int,
    quiet: bool,
    limit_identities: int | None = None,
    max_per_identity: int | None = None,
    display: dict[str, dict[str, Any]] | None = None,
    modality: str = "face",
    finger: int = 0,
) -> dict[str, Any]:
    """Enrol every identity folder under ``root``; returns the summary."""
    g = ctx.gallery
    op = ctx.operator()
    op.require("enroll")
    items, loose = scan(root)
    if limit_identities is not None:
        keep = sorted({r for r, _ in items})[:limit_identities]
        items = [(r, f) for r, f in items if r in set(keep)]
    if max_per_identity is not None:
        seen: Counter[str] = Counter()
        kept = []
        for r, f in items:
            seen[r] += 1
            if seen[r] <= max_per_identity:
                kept.append((r, f))
        items = kept
    items, skipped = _skip_enrolled(g, items, source)
    refs = {str(f): r for r, f in items}
    rejected: list[dict[str, str]] = [
        {"file": str(f), "code": "not_in_identity_folder", "message": "file is not in a folder"}
        for f in loose
    ]
    enrolled = 0
    identities: set[str] = set()
    t0 = time.perf_counter()
    first_result: float | None = None
    settings = g.settings.model_dump(mode="json")
    mod = g.modality(modality)  # unknown names fail here, before any work
    if isinstance(mod, PreparesFiles) and items:
        mod.prepare_files()  # once here, not in every worker at the same time
    jobs = [(str(f), face, finger) for _, f in items]
    console = Console(stderr=True, quiet=quiet)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    ) as bar:
        task = bar.add_task("enrolling", total=len(jobs))
        pool = ProcessPoolExecutor(
            workers, initializer=_init_worker, initargs=(settings, mod.name, os.getpid())
        )
        with pool:
            for path, out in pool.map(_prepare, jobs, chunksize=4):
                if first_result is None:  # start-up: worker model loading, first chunk
                    first_result = time.perf_counter() - t0
                ref = refs[path]
                if isinstance(out[0], str):
                    rejected.append({"file": path, "code": out[0], "message": out[1]})
                else:
                    data, jpeg, result = out
                    extra = (display or {}).get(ref, {})
                    try:
                        g.store_prepared(
                            data,
                            jpeg,
                            result,
                            ref=ref,
                            operator=op,
                            source=source,
                            display_name=extra.get("display_name"),
                            synthetic=bool(extra.get("synthetic", False)),
                            attributes=extra.get("attributes", {}),
                            captured_at=None,
                            original_name=os.path.basename(path),
                        )
                        enrolled += 1
                        identities.add(ref)
                    except DuplicateSample as exc:
                        skipped.append({"file": path, "sample_id": exc.details["sample_id"]})
                    except FortifyError as exc:
                        rejected.append({"file": path, "code": exc.code, "message": exc.message})
                bar.advance(task)
    index = g.index_for(mod.name)
    index.catch_up()
    index.save()
    elapsed = time.perf_counter() - t0
    return {
        "files": len(items) + len(loose) + len(skipped),
        "enrolled": enrolled,
        "skipped": len(skipped),
        "skipped_files": skipped,
        "identities": len(identities),
        "rejected": len(rejected),
        "rejected_by_reason": dict(Counter(r["code"] for r in rejected)),
        "rejections": rejected,
        "seconds": round(elapsed, 2),
        "images_per_second": round(enrolled / elapsed, 2) if elapsed > 0 else None,
        "first_result_seconds": round(first_result, 2) if first_result is not None else None,
        "source": source,
        "gallery_templates": index.ntotal,
        "modality": mod.name,
    }


def print_summary(summary: dict[str, Any]) -> None:
    console = Console()
    t = Table(title="Enrolment summary")
    t.add_column("what")
    t.add_column("count", justify="right")
    for key in ("files", "enrolled", "skipped", "identities", "rejected", "gallery_templates"):
        t.add_row(key.replace("_", " "), str(summary[key]))
    t.add_row("images / s", str(summary["images_per_second"]))
    console.print(t)
    if summary["skipped_files"]:
        k = Table(title="Skipped: already enrolled (same image digest)")
        k.add_column("file")
        k.add_column("sample")
        for row in summary["skipped_files"][:20]:
            k.add_row(row["file"], row["sample_id"])
        if len(summary["skipped_files"]) > 20:
            k.add_row("...", f"{len(summary['skipped_files']) - 20} more")
        console.print(k)
    if summary["rejections"]:
        r = Table(title="Rejected files")
        r.add_column("file")
        r.add_column("reason")
        for row in summary["rejections"][:50]:
            r.add_row(row["file"], f"{row['code']}: {row['message']}")
        if len(summary["rejections"]) > 50:
            r.add_row("...", f"{len(summary['rejections']) - 50} more")
        console.print(r)


def register(cli: click.Group) -> None:
    @cli.command("enroll")
    @click.argument("directory", type=click.Path(path_type=Path))
    @click.option("--source", default="default", show_default=True, help="Record system name.")
    @click.option("--face", default=None, help="'largest' to take the largest of several faces.")
    @click.option("--workers", type=int, default=min(2, os.cpu_count() or 1), show_default=True)
    @click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
    @click.option(
        "--modality", default="face", show_default=True, help="face or finger (fingerprints)."
    )
    @click.option(
        "--finger", "finger", default=None, help="Finger position of every print (right-index...)."
    )
    @common_options
    @pass_ctx
    @handle_errors
    def enroll_cmd(
        ctx: Ctx,
        directory: Path,
        source: str,
        face: str | None,
        workers: int,
        as_json: bool,
        modality: str,
        finger: str | None,
    ) -> None:
        """Enrol DIRECTORY: one sub-folder per identity, folder name = reference."""
        if not directory.is_dir():
            fail(f"{directory} is not a directory", "invalid_input")
        pick: FacePick = None
        if face:
            pick = "largest" if face == "largest" else int(face) if face.isdigit() else None
            if pick is None:
                fail("--face takes 'largest' or a face index", "invalid_input")
        summary = enroll_dir(
            ctx,
            directory,
            source=source,
            face=pick,
            workers=max(1, workers),
            quiet=as_json,
            modality="finger" if finger and modality == "face" else modality,
            finger=finger_position(finger),
        )
        if as_json:
            print_json(summary)
        else:
            print_summary(summary)
        if summary["files"] and not summary["enrolled"] and not summary["skipped"]:
            raise SystemExit(1)
