"""The search benchmark and its synthetic templates, at a size that runs in seconds."""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np
import pytest
from click.testing import CliRunner

from fortify.cli.bench import parse_sizes, register, summary
from fortify.eval.search_bench import (
    default_factories,
    operating_point,
    run_search_bench,
    sweep_for,
)
from fortify.eval.synthetic import (
    SyntheticSpec,
    describe,
    exact_search,
    model_spec,
    numpy_scan,
    synthetic_templates,
)
from fortify.index.recall import intersection_recall, recall_at, recall_report


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    import faiss

    faiss.omp_set_num_threads(1)


def test_synthetic_templates_are_face_like_and_cached(tmp_path: Path) -> None:
    spec = SyntheticSpec(n=3000, n_queries=60)
    data = synthetic_templates(spec, tmp_path)
    assert data.gallery.shape == (3000, 128) and data.gallery.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(data.gallery, axis=1), 1.0, atol=1e-5)
    mated = data.query_labels >= 0
    assert mated.sum() == 54 and np.isin(data.query_labels[mated], data.labels).all()
    stats = describe(data)  # dlib ResNet on CelebA: genuine 0.948, impostor 0.827
    assert 0.93 < stats["genuine_mean"] < 0.96
    assert 0.80 < stats["impostor_mean"] < 0.85
    again = synthetic_templates(spec, tmp_path)  # from the cache, identical
    np.testing.assert_array_equal(again.queries, data.queries)
    other = synthetic_templates(SyntheticSpec(n=3000, n_queries=60, seed=1), tmp_path)
    assert not np.array_equal(other.gallery[:10], data.gallery[:10])


def test_edgeface_preset_matches_its_dev_statistics(tmp_path: Path) -> None:
    data = synthetic_templates(model_spec("edgeface512", n=3000, n_queries=20), tmp_path)
    assert data.gallery.shape == (3000, 512)
    stats = describe(data)  # EdgeFace-S on CelebA: genuine 0.630, impostor 0.018 ± 0.107
    assert 0.60 < stats["genuine_mean"] < 0.67
    assert -0.01 < stats["impostor_mean"] < 0.05 and 0.09 < stats["impostor_std"] < 0.13
    with pytest.raises(ValueError, match="unknown synthetic model"):
        model_spec("vgg")
    assert default_factories(1_000_000, 512)[0] == "PQ128x4fs,RFlat"
    assert sweep_for("PQ64x4fs,RFlat")[-1] == "|rerank=4096"


def test_exact_search_and_numpy_scan_agree(tmp_path: Path) -> None:
    data = synthetic_templates(SyntheticSpec(n=2000, n_queries=20), tmp_path)
    x = np.asarray(data.gallery)
    d, i = exact_search(data.gallery, data.queries, 5, chunk=300)
    brute = np.argsort(-(data.queries @ x.T), axis=1)[:, :5]
    np.testing.assert_array_equal(i, brute)
    assert (np.diff(d, axis=1) <= 0).all()
    for r in range(3):
        np.testing.assert_array_equal(numpy_scan(data.gallery, data.queries[r], 5, chunk=700), i[r])


def test_recall_measures() -> None:
    exact = np.array([[1, 2, 3], [4, 5, 6], [-1, -1, -1]])
    approx = np.array([[1, 3, 9], [5, 4, 7], [8, 8, 8]])
    assert recall_at(exact, approx, 1) == 0.5
    assert recall_at(exact, approx, 2) == 1.0
    assert intersection_recall(exact, approx, 2) == pytest.approx(0.75)
    assert recall_report(exact, approx, (1, 10)) == {"recall@1": 0.5}
    with pytest.raises(ValueError):
        recall_at(exact, approx, 4)


def test_run_summary_and_report(tmp_path: Path) -> None:
    points = run_search_bench(
        [3000],
        lambda n, dim: ["IVF16,PQ16x4fs,RFlat"],
        n_queries=60,
        n_timed=10,
        numpy_timed=3,
        cache=tmp_path,
    )
    fams = {p.family for p in points}
    assert fams == {"NumPy scan", "FAISS Flat", "IVF16,PQ16x4fs,RFlat"}
    ivf = [p for p in points if p.family.startswith("IVF")]
    assert len(ivf) > 1 and all(p.ram_bytes < 200 for p in ivf)
    best = operating_point(ivf, 0.9)
    assert best.recall1 >= 0.9 and best.restart_s is not None
    rows = summary(points)
    assert len(rows) == 3 and all(r["x_numpy"] for r in rows)


def test_cli_writes_table_json_and_plot(tmp_path: Path) -> None:
    group = click.Group()
    register(group)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        group,
        [
            "bench",
            "search",
            "--sizes",
            "2k",
            "--factory",
            "IVF16,PQ16x4fs,RFlat|nprobe=8",
            "--queries",
            "40",
            "--timed",
            "5",
            "--numpy-timed",
            "2",
            "--cache",
            str(tmp_path / "cache"),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == {"search.json", "search.md", "search.png"}
    assert "NumPy scan" in (out / "search.md").read_text()
    assert parse_sizes("100k, 1M,2500") == [100_000, 1_000_000, 2500]
