"""The public features/report API follows the team conventions (scanpy-style signatures, typed, documented)."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

import genolens.features as features
import genolens.features.results as results
import genolens.report.dashboard as dashboard
import genolens.report.figures as figures
import genolens.report.html as html

REPORT = [(dashboard, ["build_dashboard", "write_dashboard", "page_features", "index_html", "feature_html"]),
          (results, ["read_results"]), (figures, ["histogram_svg", "shaded_sequence"]),
          (html, ["table", "page", "img", "fmt", "esc", "data_uri"])]
FUNCTIONS = [(features, n) for n in features.__all__ if inspect.isfunction(getattr(features, n))]
FUNCTIONS += [(m, n) for m, names in REPORT for n in names]
CONFIGS = [n for n in features.__all__ if n.endswith("Config")]


@pytest.mark.parametrize(("module", "name"), FUNCTIONS)
def test_main_object_first_rest_keyword_only(module, name):
    params = list(inspect.signature(getattr(module, name)).parameters.values())
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    assert len(positional) <= 1, f"{name}: only the main object may be positional, got {positional}"
    assert all(p.kind == p.KEYWORD_ONLY for p in params[len(positional) :]), name


@pytest.mark.parametrize(("module", "name"), FUNCTIONS)
def test_typed_and_documented(module, name):
    func = getattr(module, name)
    assert func.__doc__ and func.__doc__.strip(), name
    annotations = inspect.get_annotations(func)
    missing = [p for p in inspect.signature(func).parameters if p not in annotations]
    assert not missing and "return" in annotations, (name, missing)


@pytest.mark.parametrize("name", CONFIGS)
def test_configs_are_frozen_validated_dataclasses(name):
    cls = getattr(features, name)
    assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen, name
    assert isinstance(dataclasses.asdict(cls()), dict)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cls().seed = 1  # type: ignore[misc]
