"""The public cohort and stats APIs follow the team conventions (scanpy-style signatures, typed, documented)."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

import genolens.cohort as cohort
import genolens.stats as stats

NAMESPACES = (cohort, stats)
FUNCTIONS = [pytest.param(getattr(ns, name), id=f"{ns.__name__}.{name}") for ns in NAMESPACES for name in ns.__all__
             if inspect.isfunction(getattr(ns, name))]
CONFIGS = [pytest.param(getattr(ns, name), id=f"{ns.__name__}.{name}") for ns in NAMESPACES for name in ns.__all__
           if name.endswith("Config") or name.endswith("Thresholds")]


@pytest.mark.parametrize("func", FUNCTIONS)
def test_main_object_first_rest_keyword_only(func):
    name = func.__name__
    params = list(inspect.signature(func).parameters.values())
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    assert len(positional) <= 1, f"{name}: only the main data object may be positional, got {positional}"
    assert all(p.kind == p.KEYWORD_ONLY for p in params[len(positional) :]), name


@pytest.mark.parametrize("func", FUNCTIONS)
def test_typed_and_documented(func):
    name = func.__name__
    assert func.__doc__ and func.__doc__.strip(), name
    annotations = inspect.get_annotations(func)
    missing = [p for p in inspect.signature(func).parameters if p not in annotations]
    assert not missing and "return" in annotations, (name, missing)


@pytest.mark.parametrize("cls", CONFIGS)
def test_configs_are_frozen_dataclasses_that_serialise(cls):
    name = cls.__name__
    assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen, name
    instance = cls(phenotype="y", no_ancestry=True) if name == "AssociationConfig" else cls()
    assert isinstance(dataclasses.asdict(instance), dict)
