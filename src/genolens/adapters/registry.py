"""Model family registry: ``model_type`` of a checkpoint's config -> adapter class.

One loader for every family: :func:`load_adapter` reads ``config.json`` (local
folder or hub id), picks the adapter registered for its ``model_type`` and lets
it load the weights. Optional families (Caduceus, Evo 2) import their packages
only when used.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path

from genolens.adapters.base import Adapter, DType
from genolens.adapters.checkpoint import family_of, read_config
from genolens.errors import ConfigError

#: model_type -> "module:Class" (imported lazily so optional families cost nothing)
FAMILIES: dict[str, str] = {
    "esm": "genolens.adapters.esm:EsmAdapter",
    "bert": "genolens.adapters.bert:BertAdapter",
    "roberta": "genolens.adapters.roberta:RobertaAdapter",
    "gpt2": "genolens.adapters.gpt2:Gpt2Adapter",
    "dnabert2": "genolens.adapters.dnabert2:DnaBert2Adapter",
    "hyenadna": "genolens.adapters.hyena:HyenaAdapter",
    "caduceus": "genolens.adapters.caduceus:CaduceusAdapter",
    "evo2": "genolens.adapters.evo2:Evo2Adapter",
}


def adapter_class(family: str) -> type[Adapter]:
    """The adapter class registered for ``family``."""
    try:
        target = FAMILIES[family]
    except KeyError:
        raise ConfigError(
            f"no adapter for model type {family!r}", hint=f"supported: {', '.join(sorted(FAMILIES))}"
        ) from None
    module, cls = target.split(":")
    return getattr(importlib.import_module(module), cls)


def load_adapter(
    name_or_path: str | Path,
    *,
    device: str = "cpu",
    dtype: DType = "float32",
    trust_remote_code: bool = False,
    condition: Sequence[str] | None = None,
) -> Adapter:
    """Load a model by short name (:mod:`genolens.adapters.packaged`), hub id or local folder.

    Parameters
    ----------
    name_or_path
        Short name, hub id or checkpoint folder.
    device, dtype
        Where and in what precision the model runs.
    trust_remote_code
        Allow the checkpoint's own code: required by the families that need it (Caduceus), refused by the
        others, which run genolens' own implementation.
    condition
        Conditioning tags placed before every sequence, for models trained with them
        (IgLM: a chain and a species tag, default ``("[HEAVY]", "[HUMAN]")``); an error
        for any other model.

    Returns
    -------
    Adapter
        The model behind one interface.
    """
    from genolens.adapters.packaged import resolve

    spec = resolve(str(name_or_path))
    # packaged checkpoints know their family; a single ``.pt`` file is a fairseq RoBERTa checkpoint (Sapiens)
    if spec.family:
        family = spec.family
    elif Path(spec.path).suffix == ".pt" and Path(spec.path).is_file():
        family = "roberta"
    else:
        family = family_of(read_config(spec.path))
    cls = adapter_class(family)
    options = {"tokenizer_path": spec.tokenizer, "trust_remote_code": trust_remote_code,
               "condition": None if condition is None else tuple(condition)}
    cls.check_options(spec.name, **options)  # named as the user named it (from_pretrained checks the path too)
    adapter = cls.from_pretrained(spec.path, device=device, dtype=dtype, **options)
    adapter.name = spec.name
    return adapter
