"""A DIN-style model in torch: attention of the candidate over the user's recent clicks forms the interest vector."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from sandbox.recommenders.base import InteractionLog, RecContext, Recommender


class _DINNet(nn.Module):
    """Item embedding = id + genre + creator; local activation = bilinear attention over the click history."""

    def __init__(self, n_items: int, n_genres: int, n_creators: int, dim: int):
        super().__init__()
        self.init_args = (n_items, n_genres, n_creators, dim)  # lets a checkpoint rebuild the module
        self.item = nn.Embedding(n_items + 1, dim)  # the last row stands for padding / unknown items
        self.genre = nn.Embedding(n_genres + 1, dim)
        self.creator = nn.Embedding(n_creators + 1, dim)
        self.attend = nn.Linear(dim, dim, bias=False)
        self.out = nn.Sequential(nn.Linear(3 * dim, dim), nn.ReLU(), nn.Linear(dim, 1))
        for emb in (self.item, self.genre, self.creator):
            nn.init.normal_(emb.weight, std=0.05)

    def embed(self, item: torch.Tensor, genre: torch.Tensor, creator: torch.Tensor) -> torch.Tensor:
        """Item representations."""
        return self.item(item) + self.genre(genre) + self.creator(creator)

    def forward(self, history: torch.Tensor, mask: torch.Tensor, cand: torch.Tensor) -> torch.Tensor:
        """history (n, L, d), mask (n, L) bool, cand (n, m, d) -> logits (n, m)."""
        logits = torch.einsum("nld,nmd->nml", self.attend(history), cand) / history.shape[-1] ** 0.5
        logits = logits.masked_fill(~mask[:, None, :], -1e9)
        weights = torch.softmax(logits, -1) * mask[:, None, :].any(-1, keepdim=True)
        interest = torch.einsum("nml,nld->nmd", weights, history)
        return self.out(torch.cat([interest, cand, interest * cand], -1)).squeeze(-1)


class DINRecommender(Recommender):
    """Trained with binary cross-entropy on impressions (clicked or not) against the user's click history."""

    name = "din"

    def __init__(self, dim: int = 16, epochs: int = 2, lr: float = 0.01, max_rows: int = 40_000, batch: int = 1024):
        self.dim, self.epochs, self.lr, self.max_rows, self.batch = dim, epochs, lr, max_rows, batch
        self.net: _DINNet | None = None

    def _index(self, ctx: RecContext, items: np.ndarray) -> tuple[torch.Tensor, ...]:
        cat, n = ctx.catalogue, self.net.item.num_embeddings - 1  # type: ignore[union-attr]
        safe = np.where((items >= 0) & (items < cat.size), items, 0)
        pad = (items < 0) | (items >= cat.size)
        as_t = lambda a: torch.as_tensor(np.ascontiguousarray(a), dtype=torch.int64)  # noqa: E731
        item = as_t(np.where(pad | (items >= n), n, safe))
        genre = as_t(np.where(pad, cat.n_genres, cat.genre[safe]))
        creator = as_t(np.where(pad, ctx.n_creators, cat.creator[safe]))
        return item, genre, creator, torch.as_tensor(~pad)

    def _rebuild(self, ctx: RecContext) -> None:
        old = self.net
        self.net = _DINNet(ctx.catalogue.size, ctx.catalogue.n_genres, ctx.n_creators, self.dim)
        if old is not None:  # warm start: copy what was learned into the larger tables
            with torch.no_grad():
                for name in ("item", "genre", "creator"):
                    src, dst = getattr(old, name).weight, getattr(self.net, name).weight
                    dst[: src.shape[0] - 1] = src[:-1]
                self.net.attend.load_state_dict(old.attend.state_dict())
                self.net.out.load_state_dict(old.out.state_dict())

    def fit(self, log: InteractionLog, ctx: RecContext) -> None:
        """A few epochs of BCE over a sample of the log's impressions."""
        torch.manual_seed(int(ctx.rng.integers(2**31)))
        self._rebuild(ctx)
        rows = ctx.rng.permutation(len(log))[: self.max_rows]
        if len(rows) == 0:
            return
        user, item = log.column("user")[rows], log.column("item")[rows]
        label = torch.as_tensor(log.column("clicked")[rows], dtype=torch.float32)
        history = ctx.recent_clicks[user]
        history = np.where(history == item[:, None], -1, history)  # never attend to the target itself
        opt = torch.optim.Adam(self.net.parameters(), lr=self.lr)  # type: ignore[union-attr]
        for _ in range(self.epochs):
            for idx in np.array_split(ctx.rng.permutation(len(rows)), max(1, len(rows) // self.batch)):
                logits = self._logits(history[idx], item[idx, None], ctx).squeeze(1)
                loss = nn.functional.binary_cross_entropy_with_logits(logits, label[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()

    def _logits(self, history: np.ndarray, cands: np.ndarray, ctx: RecContext) -> torch.Tensor:
        h_item, h_genre, h_creator, mask = self._index(ctx, history)
        c_item, c_genre, c_creator, _ = self._index(ctx, cands)
        net = self.net
        return net(net.embed(h_item, h_genre, h_creator), mask, net.embed(c_item, c_genre, c_creator))  # type: ignore

    def score(self, users: np.ndarray, items: np.ndarray, ctx: RecContext) -> np.ndarray:
        """Logits for every (user, candidate), computed in blocks to bound memory."""
        if self.net is None:
            return ctx.rng.random((len(users), len(items)), dtype=np.float32)  # untrained: random order
        out = np.empty((len(users), len(items)), np.float32)
        with torch.no_grad():
            for s in range(0, len(users), 256):
                part = users[s:s + 256]
                cands = np.broadcast_to(items[None, :], (len(part), len(items)))
                out[s:s + len(part)] = self._logits(ctx.recent_clicks[part], cands, ctx).numpy()
        return out
