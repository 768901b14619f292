"""Benchmarks and the use policy: a synthetic training record for the benchmark operators
and a copy of the default policy without the per-operator rate limit (a load test makes
far more searches per hour than any officer may)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from fortify.accountability.training import record_training
from fortify.accountability.use_policy import DEFAULT_POLICY, load_policy

BENCH_COURSE = "SYNTHETIC-BENCHMARK"


def unlimited_policy(directory: Path) -> Path:
    """The default policy with ``searches_per_hour = 0`` (no limit), written to directory."""
    directory.mkdir(parents=True, exist_ok=True)
    text = DEFAULT_POLICY.read_text()
    out = directory / "bench-policy.toml"
    lines = [
        "searches_per_hour = 0" if ln.startswith("searches_per_hour") else ln
        for ln in text.splitlines()
    ]
    out.write_text("\n".join(lines).replace("-default", "-benchmark") + "\n")
    return out


def train_bench(g: Any, *names: str) -> None:
    """A synthetic training record so the benchmark operators may search."""
    policy = load_policy(g.settings.policy_file)
    with g.write() as s:
        for name in names:
            record_training(
                s,
                policy,
                name,
                course=BENCH_COURSE,
                completed=date.today(),
                expires=None,
                recorded_by="bench",
            )
