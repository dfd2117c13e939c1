"""Parsers of the CLI's list-valued options (``"4,8"``, ``"0,0.15,0.5"``, ``"PC1,age"``): one place for all."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from genolens.errors import ConfigError

T = TypeVar("T")


def comma_list(text: str | None) -> list[str] | None:
    """``"a, b,,c"`` -> ``["a", "b", "c"]``; None stays None (the option was not given)."""
    if text is None:
        return None
    return [part.strip() for part in text.split(",") if part.strip()]


def typed_list(text: str, kind: Callable[[str], T], option: str) -> list[T]:
    """A comma-separated list of ``kind`` values; a value that does not parse names the option."""
    try:
        return [kind(part) for part in comma_list(text) or []]
    except ValueError:
        name = getattr(kind, "__name__", "value")
        raise ConfigError(f"{option} takes comma-separated {name} values like '1,2', got {text!r}") from None


def int_list(text: str, option: str) -> tuple[int, ...]:
    """A comma-separated list of integers."""
    return tuple(typed_list(text, int, option))
