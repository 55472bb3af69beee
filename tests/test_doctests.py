"""Every runnable Example in the public docstrings runs and prints what it says."""
from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "siyu.transactions", "siyu.economics", "siyu.datasets", "siyu.cohorts", "siyu.retention",
    "siyu.survival", "siyu.models.betageo", "siyu.models.bgbb", "siyu.models.clv",
    "siyu.models.gammagamma", "siyu.models.paretonbd", "siyu.models.sbg",
    "siyu.datasets.simulate", "siyu.datasets.shop", "siyu.actions",
    "siyu.models.diagnostics", "siyu.models._intervals", "siyu.models._rft",
    "siyu.models._base",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    mod = importlib.import_module(name)
    res = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    assert res.failed == 0
    assert res.attempted > 0, f"{name} has no runnable examples"
