"""Sandbox tests run torch on one thread: on a shared 2-core machine extra threads only spin (measured ~4-20x)."""

import pytest


@pytest.fixture(autouse=True, scope="session")
def _sandbox_torch_threads():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)

