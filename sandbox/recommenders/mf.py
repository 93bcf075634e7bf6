"""Matrix factorisation trained with BPR in torch, with genre and creator factors so fresh items are not cold."""

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
    """score(u, i) = p_u . (q_i + g_genre(i) + c_creator(i)) + b_i, trained on clicked vs unclicked impressions."""

    name = "mf"

    def __init__(self, dim: int = 16, epochs: int = 3, lr: float = 0.05, l2: float = 1e-4,
                 max_pairs: int = 200_000, batch: int = 8192):
        self.dim, self.epochs, self.lr, self.l2, self.max_pairs, self.batch = dim, epochs, lr, l2, max_pairs, batch
        self.tables: dict[str, torch.Tensor] = {}

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
        if len(users) == 0:
            return
        params = {k: v.clone().requires_grad_(True) for k, v in self.tables.items()}
        opt = torch.optim.Adagrad(list(params.values()), lr=self.lr)
        cat = ctx.catalogue
        genre = torch.as_tensor(cat.genre[: cat.size].astype(np.int64))
        creator = torch.as_tensor(cat.creator[: cat.size].astype(np.int64))
        for _ in range(self.epochs):
            for idx in torch.randperm(len(users), generator=gen).split(self.batch):
                u, i, j = users[idx], pos[idx], neg[idx]
                diff = _item_score(params, u, i, genre, creator) - _item_score(params, u, j, genre, creator)
                loss = -torch.nn.functional.logsigmoid(diff).mean() + self.l2 * (params["user"][u].pow(2).sum(1).mean())
                opt.zero_grad()
                loss.backward()
                opt.step()
        self.tables = {k: v.detach() for k, v in params.items()}

    def _triples(self, log: InteractionLog, rng: np.random.Generator) -> tuple[torch.Tensor, ...]:
        user, item, clicked = log.column("user"), log.column("item"), log.column("clicked")
        step = log.column("step")
        pos_rows, neg_rows = np.flatnonzero(clicked), np.flatnonzero(~clicked)
        if len(pos_rows) == 0 or len(neg_rows) == 0:
            return torch.zeros(0), torch.zeros(0), torch.zeros(0)
        pos_rows = rng.choice(pos_rows, min(len(pos_rows), self.max_pairs), replace=False)
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
        as_t = lambda a: torch.as_tensor(np.ascontiguousarray(a), dtype=torch.int64)  # noqa: E731
        return as_t(item[pos_rows]), as_t(item[neg]), as_t(user[pos_rows])

    def score(self, users: np.ndarray, items: np.ndarray, ctx: RecContext) -> np.ndarray:
        """User factors times item factors plus item bias; users/items not yet trained get zero factors."""
        if not self.tables:
            return np.zeros((len(users), len(items)), np.float32)
        cat = ctx.catalogue
        vectors = self._item_vectors(items, cat.genre[items].astype(np.int64), cat.creator[items].astype(np.int64))
        bias = _lookup(self.tables["bias"], items)
        user_vecs = _lookup(self.tables["user"], users)
        return (user_vecs @ vectors.T + bias[None, :]).numpy()

    def _item_vectors(self, items: np.ndarray, genre: np.ndarray, creator: np.ndarray) -> torch.Tensor:
        t = self.tables
        return _lookup(t["item"], items) + _lookup(t["genre"], genre) + _lookup(t["creator"], creator)


def _lookup(table: torch.Tensor, ids: np.ndarray) -> torch.Tensor:
    """Rows of `table` for ids; ids beyond the table (not trained yet) give zeros."""
    ids = np.asarray(ids, np.int64)
    out = torch.zeros(len(ids), *table.shape[1:])
    known = ids < table.shape[0]
    out[torch.as_tensor(known)] = table[torch.as_tensor(ids[known])]
    return out


def _item_score(p: dict[str, torch.Tensor], u: torch.Tensor, i: torch.Tensor, genre: torch.Tensor,
                creator: torch.Tensor) -> torch.Tensor:
    vec = p["item"][i] + p["genre"][genre[i]] + p["creator"][creator[i]]
    return (p["user"][u] * vec).sum(1) + p["bias"][i]
