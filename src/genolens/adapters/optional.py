"""Lazy imports for families whose packages are optional extras (they need CUDA to run)."""

from __future__ import annotations

import importlib
from types import ModuleType

from genolens.errors import ConfigError


def require(module: str, *, extra: str, family: str) -> ModuleType:
    """Import ``module`` or fail with an error that names the extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ConfigError(
            f"{family} needs the {module!r} package ({exc.__class__.__name__}: {exc})",
            hint=f"install the extra on a CUDA machine: pip install 'genolens[{extra}]'",
        ) from None
