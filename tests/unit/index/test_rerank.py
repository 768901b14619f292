"""The memory-mapped full-template store, the row map and exact re-ranking."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fortify.errors import IndexError_
from fortify.index.rerank import (
    Column,
    RowMap,
    read_container,
    rerank,
    top_k,
    vector_section,
    write_container,
)


def test_container_round_trip_and_damage(tmp_path: Path) -> None:
    a = np.arange(12, dtype=np.int64)
    b = np.random.default_rng(0).normal(size=(5000, 8)).astype(np.float32)
    p = tmp_path / "c.bin"
    write_container(
        p,
        {"hello": "world"},
        [
            ("a", "int64", (12,), [a[:5], a[5:]]),
            ("b", "float32", b.shape, [b]),
            ("empty", "float32", (0, 8), []),
        ],
    )
    meta, sec = read_container(p)
    assert meta == {"hello": "world"}
    np.testing.assert_array_equal(sec["a"], a)
    np.testing.assert_array_equal(sec["b"], b)
    assert isinstance(sec["b"], np.memmap) and sec["b"].offset % 4096 == 0
    assert sec["empty"].shape == (0, 8)
    with pytest.raises(IndexError_):  # a short section is refused while writing
        write_container(tmp_path / "x", {}, [("a", "int64", (3,), [a[:2]])])
    p.write_bytes(p.read_bytes()[:5000])
    with pytest.raises(IndexError_):
        read_container(p)
    p.write_bytes(b"not an index")
    with pytest.raises(IndexError_):
        read_container(p)


def test_column_base_and_tail(tmp_path: Path) -> None:
    base = np.arange(20, dtype=np.float32).reshape(10, 2)
    col = Column("float32", 2, base=base)
    col.append(np.full((3, 2), -1, dtype=np.float32))
    assert len(col) == 13 and col.n_base == 10
    np.testing.assert_array_equal(col.take(np.array([12, 0, 9])), [[-1, -1], [0, 1], [18, 19]])
    col.clear_tail_rows(np.array([0, 11]))  # base rows are read-only: only 11 changes
    assert col.take(np.array([0]))[0, 1] == 1 and (col.take(np.array([11])) == 0).all()
    chunks = list(col.chunks(4))
    assert [s for s, _ in chunks] == [0, 4, 8, 10]
    assert sum(len(c) for _, c in chunks) == 13


def test_rowmap_lookup_kill_and_save(tmp_path: Path) -> None:
    rm = RowMap()
    rm.append(np.array([50, 10, 30, 10], dtype=np.int64))  # id 10 twice (re-add)
    assert sorted(rm.live_rows_of(np.array([10]))) == [1, 3]
    assert rm.kill(np.array([1, 1, 3])) == 2 and rm.n_live == 2
    assert rm.live_rows_of(np.array([10, 99])).size == 0
    vec = Column("float32", 2)
    vec.append(np.ones((4, 2), dtype=np.float32))
    p = tmp_path / "r.bin"
    write_container(p, {}, [*rm.sections(), vector_section("v", vec, rm)])
    _, sec = read_container(p)
    np.testing.assert_array_equal(sec["row_ids"], [50, -1, 30, -1])
    np.testing.assert_array_equal(sec["v"][:, 0], [1, 0, 1, 0])
    back = RowMap(sec["row_ids"], sec["live"], sec["sorted_ids"], sec["sorted_rows"])
    assert back.n_live == 2 and list(back.live_rows_of(np.array([30, 50]))) == [2, 0]
    back.append(np.array([30], dtype=np.int64))  # tail rows found beside base rows
    assert sorted(back.live_rows_of(np.array([30]))) == [2, 4]
    assert list(back.is_live(np.array([-1, 0, 1, 4, 99]))) == [False, True, False, True, False]


def test_top_k_pads_and_orders() -> None:
    s = np.array([[0.1, 0.9, -np.inf], [0.5, 0.2, 0.7]], dtype=np.float32)
    d, i = top_k(s, 4)
    np.testing.assert_array_equal(i, [[1, 0, -1, -1], [2, 0, 1, -1]])
    assert np.isinf(d[0, 2:]).all()


def test_rerank_is_exact() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(500, 16)).astype(np.float32)
    q = rng.normal(size=(4, 16)).astype(np.float32)
    store = Column("float32", 16, base=x[:300])
    store.append(x[300:])
    cand = np.stack([rng.choice(500, 40, replace=False) for _ in range(4)])
    cand[:, -5:] = -1
    d, rows = rerank(q, cand, store, 5)
    for r in range(4):
        c = cand[r][cand[r] >= 0]
        exact = c[np.argsort(-(x[c] @ q[r]))][:5]
        np.testing.assert_array_equal(rows[r], exact)
        np.testing.assert_allclose(d[r], x[exact] @ q[r], rtol=1e-5)
