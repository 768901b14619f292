"""Start the sample record services as child processes and write a federation config.

Children die with the parent: Linux ``PR_SET_PDEATHSIG``, a parent-pid watch inside
each service, and :meth:`SampleServices.stop` (also at interpreter exit).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import json
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

log = logging.getLogger(__name__)
PG_ADMIN = os.environ.get("FORTIFY_SAMPLE_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
AMQP_URL = os.environ.get("FORTIFY_SAMPLE_AMQP", "amqp://127.0.0.1:5672/")


def _die_with_parent() -> None:  # runs in the child before exec
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def postgres_available(admin: str = PG_ADMIN) -> bool:
    try:
        import psycopg
    except ImportError:
        return False
    dsn = admin.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    try:
        psycopg.connect(dsn, connect_timeout=2).close()
    except Exception:
        return False
    return True


def amqp_available(url: str = AMQP_URL) -> bool:
    import socket

    from yarl import URL

    u = URL(url)
    try:
        socket.create_connection((u.host or "127.0.0.1", u.port or 5672), timeout=2).close()
    except OSError:
        return False
    return True


@dataclass
class Service:
    name: str
    proc: subprocess.Popen[bytes]
    endpoint: str


@dataclass
class SampleServices:
    """The three sample record services (+ the SQL vehicle register over the warrants DB)."""

    workdir: Path
    dataset: Path | None = None
    slow: dict[str, float] = field(default_factory=dict)  # service -> delay seconds
    extra_args: dict[str, list[str]] = field(default_factory=dict)
    db_name: str = "fortify_demo_warrants"
    queue: str = "fortify.sample.state_records"
    services: list[Service] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    warrants_db: str | None = None

    def spawn(self, name: str, module: str, args: list[str], wait_s: float = 30.0) -> Service:
        cmd = [sys.executable, "-m", f"fortify.federation.samples.{module}",
               "--parent-pid", str(os.getpid()), *args]  # fmt: skip
        if self.dataset is not None:
            cmd += ["--data", str(self.dataset)]
        if self.slow.get(name):
            cmd += ["--delay", str(self.slow[name])]
        cmd += self.extra_args.get(name, [])
        errlog = open(self.workdir / f"{name}.log", "wb")  # noqa: SIM115 - child's stderr
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=errlog, preexec_fn=_die_with_parent
        )
        errlog.close()
        line = _first_line(proc.stdout, wait_s)
        if not line.startswith("READY "):
            proc.kill()
            tail = (self.workdir / f"{name}.log").read_text(errors="replace")[-400:]
            raise RuntimeError(f"sample service {name} did not start: {tail.strip()}")
        svc = Service(name, proc, line[6:].strip())
        self.services.append(svc)
        return svc

    def start(self) -> SampleServices:
        self.workdir.mkdir(parents=True, exist_ok=True)
        atexit.register(self.stop)
        if postgres_available():
            self.warrants_db = f"{PG_ADMIN}/{self.db_name}"
        else:
            self.warrants_db = f"sqlite:///{self.workdir / 'warrants.db'}"
            self.skipped["postgresql"] = "PostgreSQL not reachable: warrants DB on SQLite"
        self.spawn("warrants", "warrants", ["--port", "0", "--db", self.warrants_db])
        self.spawn("immigration", "immigration", ["--port", "0"])
        if amqp_available():
            self.spawn("state-records", "state_records", ["--queue", self.queue])
        else:
            self.skipped["state-records"] = "RabbitMQ not reachable on 127.0.0.1:5672: skipped"
        return self

    def endpoint(self, name: str) -> str | None:
        return next((s.endpoint for s in self.services if s.name == name), None)

    def stop(self) -> None:
        for s in self.services:
            if s.proc.poll() is None:
                s.proc.terminate()
        for s in self.services:
            try:
                s.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                s.proc.kill()
            if s.proc.stdout:
                s.proc.stdout.close()
        self.services.clear()

    def __enter__(self) -> SampleServices:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def write_config(self, path: Path, deadline_ms: int = 10_000) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(config_toml(self, deadline_ms), encoding="utf-8")
        return path


def _first_line(stream: IO[bytes] | None, wait_s: float) -> str:
    if stream is None:
        return ""
    q: queue.Queue[str] = queue.Queue()
    threading.Thread(
        target=lambda: q.put(stream.readline().decode(errors="replace")), daemon=True
    ).start()
    try:
        return q.get(timeout=wait_s)
    except queue.Empty:
        return ""


def _s(v: Any) -> str:
    return json.dumps(v)


def config_toml(svc: SampleServices, deadline_ms: int) -> str:
    """A federation settings file for the running services (no secrets in it)."""
    out = [
        "# Federation sources for the demo: SAMPLE services with SYNTHETIC records.",
        f"deadline_ms = {deadline_ms}",
        "require_case_id = true",
        "",
    ]
    w = svc.endpoint("warrants")
    if w:
        out += [
            "[[sources]]", 'name = "warrants"', 'transport = "http"',
            'description = "Sample warrants service (HTTP, own database; SYNTHETIC)"',
            f"url = {_s(w)}", "timeout_ms = 4000", 'accepts = ["reference", "name_dob"]',
            'status_field = "result"',
            'status_values = { HIT = "hit", "NO RECORD" = "not_on_file", REFUSED = "refused" }',
            "[[sources.map]]", 'records = "warrants"', 'kind = "warrant"', 'id = "warrant_no"',
            'synthetic = "synthetic"',
            'subject = { name = "subject.name", dob = "subject.dob", reference = "subject.ref" }',
            'fields = { offence = "offence", warrant_type = "type", issued = "issued", '
            'issuing_agency = "court" }',
            "",
        ]  # fmt: skip
    if svc.endpoint("state-records"):
        out += [
            "[[sources]]", 'name = "state-records"', 'transport = "amqp"',
            'description = "Sample state records over RabbitMQ (request/reply; SYNTHETIC)"',
            f"url = {_s(AMQP_URL)}", f"queue = {_s(svc.queue)}", "timeout_ms = 4000",
            'accepts = ["reference", "name_dob"]', "",
        ]  # fmt: skip
    i = svc.endpoint("immigration")
    if i:
        out += [
            "[[sources]]", 'name = "immigration"', 'transport = "http"',
            'description = "Sample immigration and border encounters (HTTP; SYNTHETIC)"',
            f"url = {_s(i)}", "timeout_ms = 8000",
            'accepts = ["reference", "name_dob", "document"]', "",
        ]  # fmt: skip
    if svc.warrants_db and w:
        cols = "id, ref, owner, plate, make, model, year, flags, 1 AS synthetic"
        by_ref = f"SELECT {cols} FROM sample_vehicles WHERE ref = :reference"
        by_plate = f"SELECT {cols} FROM sample_vehicles WHERE plate = :plate"
        out += [
            "[[sources]]", 'name = "vehicle-register"', 'transport = "sql"',
            'description = "Sample vehicle register (read-only SQL; traffic purposes only)"',
            f"url = {_s(svc.warrants_db)}", "timeout_ms = 3000",
            'accepts = ["reference", "plate"]', 'purpose_codes = ["T"]',
            f"queries.reference = {_s(by_ref)}", f"queries.plate = {_s(by_plate)}",
            "[[sources.map]]", 'kind = "vehicle"', 'id = "id"', 'synthetic = "synthetic"',
            'subject = { reference = "ref", name = "owner" }',
            'fields = { plate = "plate", make = "make", model = "model", year = "year", '
            'registered_owner = "owner", flags = "flags" }',
            "",
        ]  # fmt: skip
    return "\n".join(out)
