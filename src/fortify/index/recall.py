"""Recall of an approximate index against exact search (shared by bench and tests).

Two conventions, both as in the FAISS benchmarks:

* ``recall_at(exact, approx, k)`` ("1-recall@k"): the share of queries whose exact
  nearest neighbour is among the approximate top ``k``. ``recall@1`` is the share
  of queries whose best candidate is the exact best.
* ``intersection_recall(exact, approx, k)`` ("k-recall@k"): the mean overlap of the
  exact and approximate top-``k`` id sets, divided by ``k``.

Queries whose exact result is empty (id ``-1``) are left out.
"""

from __future__ import annotations

import numpy as np

from fortify.index.base import Ids, VectorIndex, Vectors


def recall_at(exact: Ids, approx: Ids, k: int) -> float:
    """Share of queries whose exact top-1 id appears in ``approx[:, :k]``."""
    if exact.shape[0] != approx.shape[0]:
        raise ValueError("exact and approximate results cover different queries")
    if k < 1 or k > approx.shape[1]:
        raise ValueError(f"k={k} outside 1..{approx.shape[1]}")
    truth = exact[:, 0]
    has = truth >= 0
    if not has.any():
        return 1.0
    hit = (approx[has, :k] == truth[has, None]).any(axis=1)
    return float(hit.mean())


def intersection_recall(exact: Ids, approx: Ids, k: int) -> float:
    """Mean ``|exact top-k ∩ approx top-k| / k`` over queries."""
    if k < 1 or k > min(exact.shape[1], approx.shape[1]):
        raise ValueError(f"k={k} larger than the result lists")
    total = 0.0
    n = 0
    for e, a in zip(exact[:, :k], approx[:, :k], strict=True):
        e = e[e >= 0]
        if e.size == 0:
            continue
        total += np.intersect1d(e, a[a >= 0]).size / e.size
        n += 1
    return total / n if n else 1.0


def recall_report(exact: Ids, approx: Ids, ks: tuple[int, ...] = (1, 10)) -> dict[str, float]:
    """``{"recall@1": .., "recall@10": ..}`` for the ``ks`` that fit the result width."""
    return {f"recall@{k}": recall_at(exact, approx, k) for k in ks if k <= approx.shape[1]}


def measure(index: VectorIndex, oracle: VectorIndex, queries: Vectors, k: int = 10) -> float:
    """recall@1 of ``index`` against ``oracle`` (an exact index holding the same templates)."""
    _, exact = oracle.search(queries, k)
    _, approx = index.search(queries, k)
    return recall_at(exact, approx, 1)
