"""The seen filter answers like a dense (users x items) matrix while it forgets items older than the candidates."""

import numpy as np

from sandbox.recommenders.base import SeenFilter


def test_seen_filter_matches_a_dense_matrix_while_the_band_slides():
    rng = np.random.default_rng(0)
    n, size, window = 40, 0, 100
    seen, dense = SeenFilter(n, capacity=16), np.zeros((n, 0), bool)
    for _ in range(80):
        size += int(rng.integers(0, 40))
        oldest = max(0, size - window)
        seen.ensure(n, size, oldest)
        dense = np.pad(dense, ((0, 0), (0, size - dense.shape[1])))
        if size == oldest:
            continue
        users = np.sort(rng.choice(n, 15, replace=False))
        items = rng.integers(oldest, size, (15, 3))
        seen.mark(users, items)
        for user, row in zip(users, items):
            dense[user, row] = True
        pool = np.arange(oldest, size)
        assert (seen.seen(np.arange(n), pool) == dense[:, pool]).all()
        pairs = rng.integers(oldest, size, (n, 7))
        assert (seen.seen_pairs(np.arange(n), pairs) == np.take_along_axis(dense, pairs, 1)).all()
    assert seen.first > 0  # old items were dropped ...
    assert seen.bits.shape[1] * 8 < size  # ... so the band is narrower than the catalogue
    forgotten = np.array([0, 8 * seen.first - 1])
    assert seen.seen(np.arange(n), forgotten).all() and seen.seen_pairs(np.arange(n), np.tile(forgotten, (n, 1))).all()
