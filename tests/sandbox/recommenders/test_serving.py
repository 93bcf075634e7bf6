"""Serving's fast paths give what the plain computations give: MF's closed-form z-scores and the Gumbel noise."""

import numpy as np

from sandbox.config import SandboxConfig
from sandbox.platform import Platform
from sandbox.recommenders.base import gumbel, zscore_rows


def test_mf_closed_form_zscores_equal_explicit_zscoring():
    platform = Platform(SandboxConfig(users=300, creators=30, steps=6, recommender="mf", seed=3, write_logs=False))
    platform.run()
    model, ctx = platform.pipeline.recommender, platform.context()
    users = np.arange(platform.users.n)
    items = platform.catalogue.recent(platform.step, 10)
    explicit = zscore_rows(model.score(users, items, ctx), 0.5)
    fast = model.zscores(users, items, ctx, 0.5)
    assert fast.dtype == np.float32 and fast.shape == explicit.shape
    assert np.abs(fast - explicit).max() < 1e-4
    assert np.allclose(fast.std(1), 0.5, atol=1e-3)


def test_gumbel_noise_has_the_gumbel_distribution():
    noise = gumbel(np.random.default_rng(0), (400_000,)).astype(np.float64)
    assert np.isfinite(noise).all()
    grid = np.array([-1.0, 0.0, 1.0, 2.0, 4.0])
    empirical = (noise[:, None] <= grid).mean(0)
    assert np.abs(empirical - np.exp(-np.exp(-grid))).max() < 0.005
