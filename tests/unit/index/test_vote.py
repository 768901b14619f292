from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fortify.errors import IndexError_
from fortify.index import create_index, load_index
from fortify.index.factory import structure
from fortify.index.vote import SetVoteIndex, parse_set_factory

ROWS, WIDTH = 8, 16
FACTORY = f"Set{ROWS}x{WIDTH},Flat|neighbours=2"


def _sets(n: int, seed: int = 0, filled: int = 6) -> np.ndarray:  # type: ignore[type-arg]
    """n templates of ``filled`` unit codes each, the remaining rows empty."""
    x = np.random.default_rng(seed).normal(size=(n, ROWS, WIDTH)).astype(np.float32)
    x /= np.linalg.norm(x, axis=2, keepdims=True)
    x[:, filled:] = 0.0
    return x.reshape(n, -1)


def test_factory_grammar() -> None:
    assert parse_set_factory("Set60x32,IVF64,Flat|nprobe=8,neighbours=5") == (
        60,
        32,
        "IVF64,Flat|nprobe=8",
        5,
    )
    assert structure("Set60x32,Flat|neighbours=5") == structure("Set60x32,Flat")
    for bad in ("Set0x32,Flat", "Set65x32,Flat", "Setx,Flat", "Set4x4,Flat|neighbours=0"):
        with pytest.raises(IndexError_):
            create_index(16, bad)
    with pytest.raises(IndexError_):
        create_index(100, FACTORY)  # dim must be rows x width


def test_self_search_scores_one_and_partial_sets_rank_first() -> None:
    x = _sets(200)
    idx = create_index(ROWS * WIDTH, FACTORY)
    idx.add_with_ids(x, np.arange(1000, 1200, dtype=np.int64))
    assert idx.ntotal == 200
    d, i = idx.search(x[:5], 3)
    np.testing.assert_array_equal(i[:, 0], np.arange(1000, 1005))
    np.testing.assert_allclose(d[:, 0], 1.0)
    # a probe that shares half of its codes with template 1042 (the rest new) finds it
    probe = _sets(1, seed=9).reshape(ROWS, WIDTH)
    probe[:3] = x[42].reshape(ROWS, WIDTH)[:3]
    d, i = idx.search(probe.reshape(1, -1), 1)
    assert i[0, 0] == 1042 and 0.4 < d[0, 0] < 0.6


def test_remove_empty_template_and_save_load(tmp_path: Path) -> None:
    x = _sets(50)
    x[7] = 0.0  # a print without a valid cylinder is still counted (and found by nothing)
    idx = create_index(ROWS * WIDTH, FACTORY)
    idx.add_with_ids(x, np.arange(50, dtype=np.int64))
    assert idx.ntotal == 50
    assert idx.remove_ids(np.array([3, 3, 7, 999], dtype=np.int64)) == 2
    assert idx.ntotal == 48
    _, i = idx.search(x[3:4], 5)
    assert 3 not in set(i[0].tolist())
    p = tmp_path / "set.idx"
    idx.save(p)
    back = load_index(p, ROWS * WIDTH, FACTORY)
    assert isinstance(back, SetVoteIndex) and back.ntotal == 48
    np.testing.assert_array_equal(back.search(x[:4], 3)[1], idx.search(x[:4], 3)[1])


def test_empty_index_and_bad_ids() -> None:
    idx = create_index(ROWS * WIDTH, FACTORY)
    d, i = idx.search(_sets(2), 4)
    assert (i == -1).all() and np.isinf(d).all()
    with pytest.raises(IndexError_):
        idx.add_with_ids(_sets(2), np.array([-1, 2], dtype=np.int64))
    with pytest.raises(IndexError_):
        idx.add_with_ids(_sets(2), np.array([1], dtype=np.int64))
