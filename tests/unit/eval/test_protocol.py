"""Open-set split determinism and pair enumeration."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fortify.eval.protocol import all_pairs, list_identities, split_open_set


def make_dataset(root: Path, counts: dict[str, int]) -> Path:
    for name, n in counts.items():
        folder = root / name
        folder.mkdir(parents=True)
        for i in range(n):
            (folder / f"{i:03d}.jpg").touch()
    return root


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    counts = {f"id{i:02d}": 2 + i % 4 for i in range(20)}
    counts.update({"solo_a": 1, "solo_b": 1})
    root = make_dataset(tmp_path / "data", counts)
    (root / "id00" / "notes.txt").touch()
    (root / "id00" / ".hidden.jpg").touch()
    (root / "id00" / "UPPER.PNG").touch()
    (root / "id01" / "x.webp").touch()
    (root / "README.md").touch()
    (root / "empty").mkdir()
    return root


def test_listing_filters_and_sorts(dataset: Path) -> None:
    ids = list_identities(dataset)
    assert list(ids) == sorted(ids) and "empty" not in ids and len(ids) == 22
    assert [p.name for p in ids["id00"]] == ["000.jpg", "001.jpg", "UPPER.PNG"]
    assert ids["id01"][-1].name == "x.webp"


def test_split_is_deterministic_and_partitions(dataset: Path) -> None:
    a = split_open_set(dataset, seed=7)
    assert a == split_open_set(dataset, seed=7)
    assert a != split_open_set(dataset, seed=8)
    gallery_ids = set(a.gallery_identities)
    assert len(gallery_ids) == 11  # half of 22, rounded
    assert {"solo_a", "solo_b"}.isdisjoint(gallery_ids)
    assert {i for i, _ in a.mated_probes} == gallery_ids
    assert gallery_ids.isdisjoint(i for i, _ in a.nonmated_probes)
    used = [p for _, p in a.gallery + a.mated_probes + a.nonmated_probes]
    assert len(used) == len(set(used)) == sum(len(v) for v in list_identities(dataset).values())
    assert all(sum(1 for i, _ in a.gallery if i == g) == 1 for g in gallery_ids)
    s = a.summary()
    assert s["gallery_images"] == 11 and s["nonmated_identities"] == 11


def test_all_but_one_and_multi_enrolment(dataset: Path) -> None:
    split = split_open_set(dataset, seed=1, enroll_per_identity="all_but_one")
    for g in split.gallery_identities:
        assert sum(1 for i, _ in split.mated_probes if i == g) == 1
    split = split_open_set(dataset, seed=1, enroll_per_identity=3, gallery_fraction=1.0)
    ids = list_identities(dataset)
    assert all(len(ids[g]) >= 4 for g in split.gallery_identities)
    assert len(split.gallery_identities) == sum(len(v) >= 4 for v in ids.values())


def test_max_identities_subset(dataset: Path) -> None:
    split = split_open_set(dataset, seed=3, max_identities=6)
    seen = {i for i, _ in split.gallery + split.mated_probes + split.nonmated_probes}
    assert len(seen) == 6 and len(split.gallery_identities) == 3
    assert split == split_open_set(dataset, seed=3, max_identities=6)


def test_split_rejects_bad_arguments(tmp_path: Path, dataset: Path) -> None:
    with pytest.raises(ValueError, match="enroll_per_identity"):
        split_open_set(dataset, enroll_per_identity=0)
    with pytest.raises(ValueError, match="gallery_fraction"):
        split_open_set(dataset, gallery_fraction=1.5)
    with pytest.raises(ValueError, match="no identity"):
        split_open_set(make_dataset(tmp_path / "x", {"a": 0}))
    with pytest.raises(ValueError, match="not a directory"):
        split_open_set(tmp_path / "missing")


def test_all_pairs_small() -> None:
    genuine, impostor = all_pairs(["a", "b", "a", "c", "b"])
    assert genuine.tolist() == [[0, 2], [1, 4]]
    assert impostor.tolist() == [[0, 1], [0, 3], [0, 4], [1, 2], [1, 3], [2, 3], [2, 4], [3, 4]]
    assert genuine.dtype == np.int32
    g, i = all_pairs([])
    assert g.shape == (0, 2) and i.shape == (0, 2)


def test_all_pairs_counts_and_subsample() -> None:
    labels = np.repeat(np.arange(300), 3)
    genuine, impostor = all_pairs(labels)
    assert len(genuine) == 300 * 3 and len(genuine) + len(impostor) == 900 * 899 // 2
    assert np.all(genuine[:, 0] < genuine[:, 1])
    assert np.all(labels[impostor[:, 0]] != labels[impostor[:, 1]])
    _, sub = all_pairs(labels, max_impostor_pairs=1000, seed=2)
    _, again = all_pairs(labels, max_impostor_pairs=1000, seed=2)
    assert len(sub) == 1000 and np.array_equal(sub, again)


def test_pair_scores_equal_gathered_inner_products() -> None:
    from fortify.eval.protocol import pair_scores

    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 512)).astype(np.float32)
    gen, imp = all_pairs([i // 5 for i in range(50)])
    for pairs in (gen, imp):
        want = np.einsum("ij,ij->i", x[pairs[:, 0]], x[pairs[:, 1]])
        assert np.allclose(pair_scores(x, pairs), want, atol=1e-4)
        assert np.allclose(pair_scores(x, pairs, block=7), want, atol=1e-4)
