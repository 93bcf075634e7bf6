"""BPR matrix factorisation (sparse Adagrad in numpy) with genre and creator factors so fresh items are not cold."""

from __future__ import annotations

import numpy as np
import torch

from sandbox.recommenders.base import InteractionLog, RecContext, Recommender


def grown(table: torch.Tensor, rows: int) -> torch.Tensor:
    """`table` with zero rows appended up to `rows` (warm start keeps what was learned)."""
    if table.shape[0] >= rows:
        return table
    return torch.cat([table, torch.zeros(rows - table.shape[0], *table.shape[1:])])


class BPRMatrixFactorisation(Recommender):
    """score(u, i) = p_u . (q_i + g_genre(i) + c_creator(i)) + b_i, trained on clicked vs unclicked impressions.

    Each retrain draws at most `max_pairs` (user, clicked, unclicked) triples and runs `epochs` passes with sparse
    row gradients, so its cost is bounded by the sample, not by the number of users or items.
    """

    name = "mf"

    def __init__(self, dim: int = 16, epochs: int = 3, lr: float = 0.05, l2: float = 1e-4,
                 max_pairs: int = 50_000, batch: int = 8192):
        if epochs < 1 or max_pairs < 1 or batch < 1 or dim < 1:
            raise ValueError("mf dim, epochs, max_pairs and batch must all be >= 1")
        self.dim, self.epochs, self.lr, self.l2, self.max_pairs, self.batch = dim, epochs, lr, l2, max_pairs, batch
        self.tables: dict[str, torch.Tensor] = {}
        self._arrays: dict[str, np.ndarray] = {}  # numpy copies with a trailing zero row for unknown ids
        self._item_cache: tuple[bytes, np.ndarray, np.ndarray] | None = None

    def _ensure(self, ctx: RecContext, gen: torch.Generator) -> None:
        sizes = {"user": ctx.n_users, "item": ctx.catalogue.size, "genre": ctx.catalogue.n_genres,
                 "creator": ctx.n_creators}
        for name, rows in sizes.items():
            if name not in self.tables:
                self.tables[name] = 0.1 * torch.randn(rows, self.dim, generator=gen)
            self.tables[name] = grown(self.tables[name], rows)
        self.tables["bias"] = grown(self.tables.get("bias", torch.zeros(0)), ctx.catalogue.size)

    def fit(self, log: InteractionLog, ctx: RecContext) -> None:
        """BPR epochs over (user, clicked item, unclicked item of the same step) triples."""
        gen = torch.Generator().manual_seed(int(ctx.rng.integers(2**31)))
        self._ensure(ctx, gen)
        pos, neg, users = self._triples(log, ctx.rng)
        if len(users):
            self._train(pos, neg, users, ctx)
        self._arrays = {k: np.concatenate([v.numpy(), np.zeros((1, *v.shape[1:]), np.float32)])
                        for k, v in self.tables.items()}
        self._item_cache = None

    def _train(self, pos: np.ndarray, neg: np.ndarray, users: np.ndarray, ctx: RecContext) -> None:
        # hand-written BPR gradients scattered with sorted segment sums: bitwise reproducible at any thread count
        order_rng = np.random.default_rng(int(ctx.rng.integers(2**31)))
        tables = {k: v.numpy().copy() for k, v in self.tables.items()}
        squares = {k: np.zeros_like(v) for k, v in tables.items()}  # Adagrad accumulators
        cat = ctx.catalogue
        genre, creator = cat.genre[: cat.size].astype(np.int64), cat.creator[: cat.size].astype(np.int64)
        for _ in range(self.epochs):
            order = order_rng.permutation(len(users))
            for start in range(0, len(users), self.batch):
                idx = order[start:start + self.batch]
                self._bpr_step(tables, squares, users[idx], pos[idx], neg[idx], genre, creator)
        self.tables = {k: torch.from_numpy(v) for k, v in tables.items()}

    def _bpr_step(self, t: dict[str, np.ndarray], squares: dict[str, np.ndarray], u: np.ndarray, i: np.ndarray,
                  j: np.ndarray, genre: np.ndarray, creator: np.ndarray) -> None:
        """One Adagrad step on -log sigmoid(x_ui - x_uj) + l2 |p_u|^2, touching only the rows in the batch."""
        n = len(u)
        both = np.concatenate([i, j])
        vec = t["item"][both] + t["genre"][genre[both]] + t["creator"][creator[both]]
        p_u = t["user"][u]
        x = (p_u * (vec[:n] - vec[n:])).sum(1) + t["bias"][i] - t["bias"][j]
        g = (1.0 / (1.0 + np.exp(np.clip(x, -30, 30)))).astype(np.float32) / n  # -dLoss/dx
        sign = np.concatenate([g, -g])[:, None]
        grad_vec = -sign * np.concatenate([p_u, p_u])
        grads = {"user": (u, -g[:, None] * (vec[:n] - vec[n:]) + (2 * self.l2 / n) * p_u),
                 "item": (both, grad_vec), "genre": (genre[both], grad_vec), "creator": (creator[both], grad_vec),
                 "bias": (both, -sign[:, 0])}
        for name, (index, grad) in grads.items():
            rows, total = segment_sum(index, grad)
            acc = squares[name][rows] + total * total
            squares[name][rows] = acc
            t[name][rows] -= self.lr * total / (np.sqrt(acc) + 1e-10)

    def _triples(self, log: InteractionLog, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        user, item, clicked = log.column("user"), log.column("item"), log.column("clicked")
        step = log.column("step")
        pos_rows, neg_rows = np.flatnonzero(clicked), np.flatnonzero(~clicked)
        if len(pos_rows) == 0 or len(neg_rows) == 0:
            empty = np.zeros(0, np.int64)
            return empty, empty, empty
        if len(pos_rows) > self.max_pairs:
            pos_rows = np.sort(rng.choice(pos_rows, self.max_pairs, replace=False))
        # a negative from the same user's impressions when there is one, else any unclicked impression
        key = user[neg_rows] * 100_003 + step[neg_rows]
        order = np.argsort(key, kind="stable")
        sorted_key = key[order]
        want = user[pos_rows] * 100_003 + step[pos_rows]
        lo, hi = np.searchsorted(sorted_key, want, "left"), np.searchsorted(sorted_key, want, "right")
        pick = lo + (rng.random(len(want)) * np.maximum(hi - lo, 1)).astype(np.int64)
        same = hi > lo
        fallback = rng.integers(len(neg_rows), size=len(want))
        neg = np.where(same, neg_rows[order[np.minimum(pick, len(order) - 1)]], neg_rows[fallback])
        return item[pos_rows], item[neg], user[pos_rows]

    def score(self, users: np.ndarray, items: np.ndarray, ctx: RecContext) -> np.ndarray:
        """User factors times item factors plus item bias; users/items not yet trained get zero factors."""
        if not self._arrays:  # untrained: random order rather than everyone getting the same tied items
            return ctx.rng.random((len(users), len(items)), dtype=np.float32)
        vectors, bias = self._item_vectors(items, ctx)
        # torch rather than numpy BLAS so torch.set_num_threads governs it (oversubscribed BLAS threads crawl)
        user_vecs = torch.from_numpy(_rows(self._arrays["user"], users))
        return torch.addmm(torch.from_numpy(bias)[None, :], user_vecs, torch.from_numpy(vectors).T).numpy()

    def zscores(self, users: np.ndarray, items: np.ndarray, ctx: RecContext, scale: float = 1.0) -> np.ndarray:
        """Scores z-scored per user in one matrix product: a user's mean and variance over the items follow from
        the items' mean and covariance of [vector, bias] (float64, tiny), so no pass over the (users x items) scores
        is needed to standardise them: z = [a*p_u, a, -a*mean_u] . [vector, bias, 1] with a = scale / std_u."""
        if not self._arrays or len(items) < 2:
            return super().zscores(users, items, ctx, scale)
        vectors, bias = self._item_vectors(items, ctx)
        side = np.concatenate([vectors, bias[:, None]], 1).astype(np.float64)  # (items, dim + 1)
        mean, cov = side.mean(0), np.cov(side, rowvar=False, bias=True)
        user = np.concatenate([_rows(self._arrays["user"], users), np.ones((len(users), 1), np.float32)], 1)
        user64 = user.astype(np.float64)
        centre = user64 @ mean
        std = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", user64, cov, user64), 0.0))
        a = scale / np.where(std > 0, std, 1.0)
        left = np.concatenate([a[:, None] * user64, -(a * centre)[:, None]], 1).astype(np.float32)
        right = np.concatenate([vectors, bias[:, None], np.ones((len(items), 1), np.float32)], 1)
        return torch.mm(torch.from_numpy(left), torch.from_numpy(np.ascontiguousarray(right.T))).numpy()

    def _item_vectors(self, items: np.ndarray, ctx: RecContext) -> tuple[np.ndarray, np.ndarray]:
        # the pipeline scores the same candidate pool in user chunks: build the item side once per pool
        key = np.asarray(items, np.int64).tobytes()
        if self._item_cache is None or self._item_cache[0] != key:
            a, cat = self._arrays, ctx.catalogue
            vectors = (_rows(a["item"], items) + _rows(a["genre"], cat.genre[items])
                       + _rows(a["creator"], cat.creator[items]))
            self._item_cache = (key, vectors, _rows(a["bias"], items))
        return self._item_cache[1], self._item_cache[2]

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_item_cache"] = None
        return state


def segment_sum(index: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct ids and the sum of `values` rows per id, in a fixed order (deterministic, unlike atomic scatters).

    >>> ids, sums = segment_sum(np.array([2, 0, 2]), np.array([1.0, 5.0, 3.0]))
    >>> ids.tolist(), sums.tolist()
    ([0, 2], [5.0, 4.0])
    """
    order = np.argsort(index, kind="stable")
    ordered = index[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    return ordered[starts], np.add.reduceat(values[order], starts, axis=0)


def _rows(table: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Rows of a numpy table whose last row is zeros; ids beyond the trained rows map to that zero row."""
    ids = np.asarray(ids, np.int64)
    return table[np.where(ids < len(table) - 1, ids, len(table) - 1)]

