"""Real ``kill -9``: no orphan photo, a re-run resumes without duplicates, workers die too.

Issue 8, items 7 and 8. Each test kills a real subprocess with SIGKILL (no clean-up
runs in it) and then checks what the next start finds.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from fortify.gallery import Gallery
from fortify.modalities.face.engine import Engine
from tests.conftest import ROOT, TEST_THRESHOLD, make_settings

pytestmark = pytest.mark.slow
People = list[tuple[str, list[Path]]]


def _env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    env["FORTIFY_HOME"] = str(home)
    env["FORTIFY_MATCH_THRESHOLD"] = str(TEST_THRESHOLD)
    return env


def _descendants(pid: int) -> set[int]:
    parents: dict[int, int] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            parents[int(d.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    out: set[int] = set()
    todo = [pid]
    while todo:
        p = todo.pop()
        kids = {c for c, pp in parents.items() if pp == p}
        out |= kids
        todo += list(kids)
    return out


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for p in pids:
        try:
            state = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.add(p)
    return alive


def _wait_gone(pids: set[int], timeout: float = 10.0) -> set[int]:
    end = time.monotonic() + timeout
    while _alive(pids) and time.monotonic() < end:
        time.sleep(0.1)
    return _alive(pids)


def _db_rows(home: Path, sql: str) -> list[tuple[object, ...]]:
    db = home / "fortify.db"
    if not db.exists():
        return []
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return con.execute(sql).fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        con.close()


def _files_match_rows(home: Path) -> None:
    rows = {str(r[0]) for r in _db_rows(home, "SELECT image_path FROM samples") if r[0]}
    files = {
        str(p.relative_to(home)) for p in (home / "media" / "samples").rglob("*") if p.is_file()
    }
    assert files == rows, {"orphans": files - rows, "missing": rows - files}
    staging = home / "media" / "staging"
    assert not staging.exists() or not list(staging.iterdir())


HANG = """
import sys, time
from fortify.accountability.operators import local_operator
from fortify.config import Settings
from fortify.gallery import Gallery
from fortify.gallery import enroll
mode, photo = sys.argv[1], sys.argv[2]
def hang(*a, **k):
    print("READY", flush=True)
    time.sleep(120)
if mode == "before-commit":
    enroll._add_template = hang          # inside the transaction, photo already staged
else:
    from fortify.gallery import staging
    staging.publish = hang               # after the commit, before the photo is in place
g = Gallery(Settings())
g.enroll_image(photo, reference="crash", operator=local_operator(), face="largest")
"""


@pytest.mark.parametrize("mode", ["before-commit", "after-commit"])
def test_kill_9_mid_enrolment_leaves_no_orphan_photo(
    tmp_path: Path, engine: Engine, people: People, mode: str
) -> None:
    home = tmp_path / "home"
    proc = subprocess.Popen(
        [sys.executable, "-c", HANG, mode, str(people[0][1][0])],
        env=_env(home),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "READY"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    g = Gallery(make_settings(home), engine=engine)  # start-up sweeps the staging folder
    try:
        n = _db_rows(home, "SELECT count(*) FROM samples")[0][0]
        assert n == (0 if mode == "before-commit" else 1)
        _files_match_rows(home)
    finally:
        g.close()


def _dataset(tmp_path: Path, people: People, n: int) -> Path:
    root = tmp_path / "photos"
    for ref, files in people[:n]:
        (root / ref).mkdir(parents=True)
        for f in files[:2]:
            (root / ref / f.name).symlink_to(f)
    return root


def test_kill_9_enroll_workers_die_and_rerun_resumes_without_duplicates(
    tmp_path: Path, people: People
) -> None:
    home = tmp_path / "home"
    root = _dataset(tmp_path, people, 12)
    total = sum(len(list(d.iterdir())) for d in root.iterdir())
    cmd = [sys.executable, "-m", "fortify.cli.__main__", "enroll", str(root)]
    cmd += ["--source", "test", "--face", "largest", "--workers", "2", "--json"]
    proc = subprocess.Popen(
        cmd, env=_env(home), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    workers: set[int] = set()
    end = time.monotonic() + 120
    while time.monotonic() < end and proc.poll() is None:
        workers |= _descendants(proc.pid)
        done = _db_rows(home, "SELECT count(*) FROM samples")
        if done and int(done[0][0]) >= 3:  # type: ignore[call-overload]
            break
        time.sleep(0.02)
    assert proc.poll() is None, "enrolment finished before it could be killed"
    workers |= _descendants(proc.pid)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert workers, "no pool worker was seen"
    assert _wait_gone(workers) == set(), "pool workers outlived kill -9 of their parent"

    committed = int(_db_rows(home, "SELECT count(*) FROM samples")[0][0])  # type: ignore[call-overload]
    rerun = subprocess.run(cmd, env=_env(home), capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    summary = json.loads(rerun.stdout)
    assert summary["skipped"] == committed > 0
    assert summary["enrolled"] + summary["skipped"] + summary["rejected"] == total
    dups = _db_rows(
        home,
        "SELECT identity_id, image_sha256, count(*) FROM samples "
        "GROUP BY identity_id, image_sha256 HAVING count(*) > 1",
    )
    assert dups == []
    _files_match_rows(home)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(home: Path, port: int) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "fortify.cli.__main__", "serve", "--workers", "2"]
    cmd += ["--port", str(port)]
    proc = subprocess.Popen(
        cmd, env=_env(home), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    end = time.monotonic() + 120
    while time.monotonic() < end:
        assert proc.poll() is None, "fortify serve exited"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/health", timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.3)
    raise AssertionError("fortify serve did not come up")


def test_kill_9_serve_workers_die_and_restart_binds(tmp_path: Path) -> None:
    home = tmp_path / "home"
    port = _free_port()
    proc = _serve(home, port)
    workers = _descendants(proc.pid)
    assert workers
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert _wait_gone(workers) == set(), "server workers outlived kill -9 of their parent"
    again = _serve(home, port)  # would fail with "Address already in use"
    again.send_signal(signal.SIGTERM)
    try:
        again.wait(30)
    except subprocess.TimeoutExpired:
        again.kill()
    _wait_gone(_descendants(again.pid) | {again.pid}, 10)
