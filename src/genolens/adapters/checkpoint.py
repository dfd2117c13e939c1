"""Find a checkpoint's files, from a local folder or a Hugging Face hub id, the same way."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path

from genolens.errors import ConfigError, InputFileError


def find_file(name_or_path: str | Path, filename: str, *, required: bool = True) -> Path | None:
    """``filename`` inside the checkpoint: a local folder, else the hub cache / hub (``transformers.cached_file``)."""
    local = Path(name_or_path)
    if local.is_dir():
        path = local / filename
        if path.is_file():
            return path
        if required:
            raise InputFileError(f"checkpoint folder has no {filename}", path=local)
        return None
    if local.suffix or str(name_or_path).startswith((".", "/")):
        raise InputFileError("checkpoint folder not found", path=local, hint="give a folder or a hub id")
    from transformers.utils import cached_file

    try:
        found = cached_file(str(name_or_path), filename, _raise_exceptions_for_missing_entries=False)
    except OSError as exc:
        raise InputFileError(f"cannot fetch {filename} of {name_or_path}: {exc}") from exc
    if found is None and required:
        raise InputFileError(f"checkpoint {name_or_path} has no {filename}")
    return None if found is None else Path(found)


def read_config(name_or_path: str | Path) -> dict:
    """The checkpoint's ``config.json`` as a dict."""
    path = find_file(name_or_path, "config.json")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise InputFileError(f"config.json is not valid JSON: {exc}", path=path) from exc


def is_mosaic_bert(config: dict) -> bool:
    """Whether a config describes MosaicBERT (DNABERT-2's own BERT variant) rather than BERT.

    DNABERT-2 says ``model_type: bert`` but needs its ``bert_layers.py``; its config has
    ``alibi_starting_size`` and an ``auto_map`` into ``bert_layers``.
    """
    if "alibi_starting_size" in config:
        return True
    auto_map = config.get("auto_map") or {}
    return any(str(target).startswith("bert_layers.") for target in auto_map.values())


def config_from_dict(cls: type, config: dict, *, defaults: dict | None = None):  # noqa: ANN201 - an instance of cls
    """Build the architecture dataclass ``cls`` from a ``config.json`` dict: its own fields only.

    Keys ``cls`` does not name are ignored (configs carry much else). A field set to
    ``null`` is an error unless ``defaults`` gives its value (e.g. an unset ``pad_token_id``).
    """
    names = {f.name for f in fields(cls)}
    kept = {k: v for k, v in config.items() if k in names}
    for key, value in (defaults or {}).items():
        if kept.get(key) is None:
            kept[key] = value
    unset = sorted(k for k, v in kept.items() if v is None)
    if unset:
        raise ConfigError(f"config.json sets {', '.join(unset)} to null", hint="a model config needs their values")
    return cls(**kept)


def read_weights(name_or_path: str | Path) -> dict:
    """The checkpoint's tensors, from ``model.safetensors``, else ``pytorch_model.bin`` loaded weights-only.

    Used by the natively implemented families; never unpickles code.
    """
    import torch

    path = find_file(name_or_path, "model.safetensors", required=False)
    if path is not None:
        from safetensors.torch import load_file

        return load_file(str(path))
    path = find_file(name_or_path, "pytorch_model.bin")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises many kinds on a bad or unsafe file
        raise InputFileError(f"cannot read weights: {str(exc).splitlines()[0]}", path=path) from exc


def family_of(config: dict) -> str:
    """The model family a config describes: its ``model_type`` (``dnabert2`` for MosaicBERT), else ``architectures``."""
    model_type = config.get("model_type")
    if model_type:
        family = str(model_type).lower()
        return "dnabert2" if family == "bert" and is_mosaic_bert(config) else family
    archs = " ".join(config.get("architectures") or []).lower()
    for family in ("esm", "roberta", "bert", "gpt2", "hyena", "caduceus"):
        if family in archs:
            return "hyenadna" if family == "hyena" else family
    raise ConfigError("config.json names no model_type or known architecture", hint="is this a model folder?")


@contextmanager
def quiet_loading() -> Iterator[None]:
    """Silence transformers' load report while loading a base model from a checkpoint with heads.

    Loading ``EsmModel``/``BertModel`` from a ``*ForMaskedLM`` checkpoint leaves the head
    weights unused on purpose; transformers would print a table of them.
    """
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()  # transformers 5 draws a bar per checkpoint load
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()


#: Architectures that put a task head (fine-tuned with the backbone) on top; LM and pretraining heads
#: (AntiBERTy's species/chain heads too) are dropped without a word, as documented.
TASK_HEAD_SUFFIXES = (
    "ForSequenceClassification",
    "ForTokenClassification",
    "ForQuestionAnswering",
    "ForMultipleChoice",
    "ForRegression",
)

#: Checkpoint entries that are buffers of older transformers versions, not weights (GPT-2's causal mask).
IGNORED_UNUSED = ("attn.masked_bias", "attn.bias", "position_ids")


@dataclass(frozen=True)
class Backbone:
    """A base model loaded from a checkpoint, and what of the checkpoint it left out.

    ``dropped_head`` names a task head (classification, regression) that was in the
    checkpoint but is not part of the backbone, e.g. ``"EsmForSequenceClassification
    head: classifier.dense, classifier.out_proj"``; ``None`` when the checkpoint's extra
    weights (if any) are a language-model head, which adapters never use.
    """

    model: object
    architecture: str
    unused: tuple[str, ...] = ()
    dropped_head: str | None = None


def unused_modules(keys: list[str]) -> tuple[str, ...]:
    """Checkpoint entries the model did not take, grouped by module (``classifier.dense.weight``: its module)."""
    modules = {k.rsplit(".", 1)[0] for k in keys if not any(k.endswith(b) or b + "." in k for b in IGNORED_UNUSED)}
    return tuple(sorted(modules))


def describe_dropped(architecture: str, unused: tuple[str, ...]) -> str | None:
    """Name a task head that loading a backbone drops, or ``None`` when it is an LM head or nothing."""
    if not unused or not architecture.endswith(TASK_HEAD_SUFFIXES):
        return None
    return f"{architecture} head: {', '.join(unused)}"


def load_base_model(model_cls: type, name_or_path: str | Path, **kwargs) -> Backbone:  # noqa: ANN003
    """``model_cls.from_pretrained`` (float32), refusing checkpoints whose weights do not all load.

    transformers silently initialises missing weights at random; a checkpoint of another
    architecture under the same ``model_type`` (DNABERT-2's own BERT variant, say) would
    then run as a random model. Unused extra weights are fine, but a task head (a
    checkpoint saved as ``*ForSequenceClassification``) is named: the backbone it leaves
    is task-tuned, and the log says so (``Backbone.dropped_head``, a logged warning).
    ``kwargs`` go to ``from_pretrained`` (``add_pooling_layer=False`` for BERT-like models).
    """
    import torch

    with quiet_loading():
        model, info = model_cls.from_pretrained(
            str(name_or_path), dtype=torch.float32, output_loading_info=True, **kwargs
        )
    missing = [k for k in info.get("missing_keys", []) if "position_ids" not in k]
    if missing:
        raise InputFileError(
            f"{len(missing)} weights of {model_cls.__name__} are missing from the checkpoint "
            f"(e.g. {', '.join(sorted(missing)[:3])})",
            path=name_or_path,
            hint="a different architecture under the same model_type?",
        )
    archs = read_config(name_or_path).get("architectures") or []
    architecture = str(archs[0]) if archs else ""
    unused = unused_modules(list(info.get("unexpected_keys", [])))
    dropped = describe_dropped(architecture, unused)
    if dropped is not None:
        logging.getLogger("genolens").warning(
            "%s: loading the backbone only; the checkpoint's %s is dropped (its backbone weights are task-tuned)",
            name_or_path,
            dropped,
        )
    return Backbone(model, architecture, unused, dropped)
