"""Small trained artefacts on disk (probes, erasers): tensors in safetensors + ``cfg.json``, with provenance.

The tensors file records the SHA-256 of its data (checked on load, as SAE weights are); ``cfg.json`` carries
an encoding type and version (refused when unknown) and the provenance of the activations the artefact was
fit on (:class:`genolens.provenance.Provenance`), which :func:`genolens.provenance.check_provenance` compares
with an input's.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import save, save_file

from genolens import __version__
from genolens.errors import InputFileError, InputFormatError
from genolens.io.files import write_json
from genolens.io.tensorfile import DIGEST_KEY, bytes_digest
from genolens.sae.checkpoint import read_weights

CFG = "cfg.json"


def save_artefact(
    path: str | os.PathLike[str], *, weights: str, tensors: dict[str, np.ndarray], cfg: dict[str, Any],
    encoding: tuple[str, str],
) -> Path:
    """Write ``tensors`` (float32) to ``path/weights`` and ``cfg`` (with its encoding) to ``path/cfg.json``."""
    target = Path(path)
    target.mkdir(parents=True, exist_ok=True)
    state = {k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32)) for k, v in tensors.items()}
    digest = bytes_digest(save(state, metadata={"format": "pt"}))
    tmp = target / f".{weights}.tmp"
    save_file(state, str(tmp), metadata={"format": "pt", DIGEST_KEY: digest})
    os.replace(tmp, target / weights)
    write_json(target / CFG, {"encoding-type": encoding[0], "encoding-version": encoding[1],
                              "genolens_version": __version__, **cfg})
    return target


def load_artefact(
    path: str | os.PathLike[str], *, weights: str, encoding: tuple[str, str], what: str
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """``cfg.json`` and the tensors of a folder written by :func:`save_artefact` (format and checksum checked)."""
    root = Path(path)
    cfg_path, w_path = root / CFG, root / weights
    if not cfg_path.is_file() or not w_path.is_file():
        raise InputFileError(f"not a {what} folder (needs {CFG} and {weights})", path=root)
    try:
        cfg = json.loads(cfg_path.read_text())
    except json.JSONDecodeError as exc:
        raise InputFormatError(f"cfg.json is not valid JSON: {exc}", path=cfg_path) from None
    if not isinstance(cfg, dict) or cfg.get("encoding-type") != encoding[0]:
        raise InputFormatError(f"cfg.json does not describe a genolens {what}", path=cfg_path)
    if cfg.get("encoding-version") != encoding[1]:
        raise InputFormatError(f"{what} format version {cfg.get('encoding-version')!r} is not supported "
                               f"(supported: {encoding[1]})", path=cfg_path)
    state = read_weights(w_path, what=f"{what} weights file")
    return cfg, {k: v.numpy() for k, v in state.items()}
