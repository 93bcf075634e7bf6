"""The worked examples in the policy modules' docstrings (rewards, grammar, split, metrics) hold."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ("personas.policy.rewards", "personas.policy.grammar", "personas.policy.dataset",
           "personas.policy.metrics", "personas.policy.statistical")


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0 and result.failed == 0
