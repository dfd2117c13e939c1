"""SAE checkpoints: SAELens-compatible inference files, and resumable training state.

An SAE directory holds

* ``sae_weights.safetensors``: ``W_enc [d_in, d_sae]``, ``W_dec [d_sae, d_in]``, ``b_enc``,
  ``b_dec`` (and ``threshold [d_sae]`` for JumpReLU and BatchTopK) for raw, unscaled
  activations: genolens' input scaling is folded into the weights, so SAELens sees
  ``normalize_activations: "none"``; its metadata records the SHA-256 of its data
  (``data-sha256``), checked with its size when it is loaded;
* ``cfg.json``: SAELens' keys (``d_in``, ``d_sae``, ``architecture``, ``k``, ``dtype``,
  ``device``, ``apply_b_dec_to_input``, ``normalize_activations``, ``metadata``) plus a
  ``genolens`` section with the full config, the training config, the input scale, the
  provenance (model, weights hash, layer, tokenizer) and the format version.

Architecture mapping to SAELens: ``topk`` -> ``topk`` (with ``k``); ``relu`` -> ``standard``;
``jumprelu`` -> ``jumprelu``; ``batchtopk`` and ``matryoshka`` -> ``jumprelu`` with the
threshold estimated during training (their inference rule), as SAELens saves them.

Training state (``checkpoint/``: unfolded parameters, buffers and optimiser moments in
safetensors, loop state in ``trainer.json``) is written atomically beside them.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save, save_file

from genolens import __version__
from genolens.errors import ConfigError, InputFileError, InputFormatError
from genolens.io.tensorfile import DIGEST_KEY, bytes_digest, verify_digest
from genolens.provenance import Provenance, check_provenance
from genolens.sae.base import SparseAutoencoder
from genolens.sae.registry import build_sae, config_from_dict

FORMAT = "genolens-sae"
FORMAT_VERSION = "1"
WEIGHTS = "sae_weights.safetensors"
CFG = "cfg.json"
THRESHOLD_ARCHS = ("jumprelu", "batchtopk", "matryoshka")  # architectures that save a threshold
SAELENS_ARCH = {"topk": "topk", "relu": "standard", "jumprelu": "jumprelu", "batchtopk": "jumprelu",
                "matryoshka": "jumprelu"}


def _atomic_dir(target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))


def _replace_dir(tmp: Path, target: Path) -> None:
    if target.exists():
        old = target.with_name(f".{target.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(target, old)
        os.replace(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, target)


def saelens_cfg(sae: SparseAutoencoder, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    cfg = sae.cfg
    prov = cfg.provenance
    out: dict[str, Any] = {
        "architecture": SAELENS_ARCH[cfg.architecture],
        "d_in": cfg.d_in,
        "d_sae": cfg.d_sae,
        "dtype": "float32",
        "device": "cpu",
        "apply_b_dec_to_input": True,
        "normalize_activations": "none",
        "reshape_activations": "none",
        "metadata": {"model_name": prov.model, "hook_name": f"layer.{prov.layer}", "hook_layer": prov.layer},
        "genolens": {
            "encoding-type": FORMAT,
            "encoding-version": FORMAT_VERSION,
            "genolens_version": __version__,
            "config": cfg.to_dict(),
            "input_scale": float(sae.input_scale),
            **(extra or {}),
        },
    }
    if cfg.architecture == "topk":
        out["k"] = cfg.k
    return out


def save_sae(sae: SparseAutoencoder, path: str | Path, *, extra: dict[str, Any] | None = None) -> Path:
    """Write the inference files (weights + cfg.json) atomically; returns the directory.

    The input scale is folded into the weights and the files follow SAELens' layout
    (``sae_weights.safetensors`` + ``cfg.json``, genolens' own settings in its ``genolens`` section).

    Parameters
    ----------
    sae
        The SAE to save.
    path
        Output folder (created; files in it are replaced).
    extra
        More entries for the ``genolens`` section of ``cfg.json`` (e.g. the training settings).

    Returns
    -------
    pathlib.Path
        The folder.
    """
    target = Path(path)
    target.mkdir(parents=True, exist_ok=True)
    state = {k: v.float().cpu().contiguous() for k, v in sae.folded_state().items()}
    digest = bytes_digest(save(state, metadata={"format": "pt"}))  # the data section does not depend on metadata
    tmp_w = target / f".{WEIGHTS}.tmp"
    save_file(state, str(tmp_w), metadata={"format": "pt", DIGEST_KEY: digest})
    os.replace(tmp_w, target / WEIGHTS)
    tmp_c = target / f".{CFG}.tmp"
    tmp_c.write_text(json.dumps(saelens_cfg(sae, extra), indent=2))
    os.replace(tmp_c, target / CFG)
    return target


def load_sae(path: str | Path, *, device: str = "cpu") -> SparseAutoencoder:
    """Load an SAE written by :func:`save_sae` (input scale folded: ``input_scale`` is 1).

    Parameters
    ----------
    path
        SAE folder (``cfg.json`` + ``sae_weights.safetensors``); damaged or foreign files are errors.
    device
        Where the weights go.

    Returns
    -------
    SparseAutoencoder
        The SAE in eval mode, with its config and provenance.
    """
    root = Path(path)
    cfg_path, w_path = root / CFG, root / WEIGHTS
    if not cfg_path.is_file() or not w_path.is_file():
        raise InputFileError(f"not an SAE directory (needs {CFG} and {WEIGHTS})", path=root)
    try:
        meta = json.loads(cfg_path.read_text())
    except json.JSONDecodeError as exc:
        raise InputFormatError(f"cfg.json is not valid JSON: {exc}", path=cfg_path) from exc
    section = meta.get("genolens")
    if not isinstance(section, dict) or section.get("encoding-type") != FORMAT:
        raise InputFormatError("cfg.json has no genolens section: not written by genolens", path=cfg_path)
    if section.get("encoding-version") != FORMAT_VERSION:
        raise InputFormatError(
            f"SAE format version {section.get('encoding-version')!r} is not supported "
            f"(supported: {FORMAT_VERSION})", path=cfg_path,
        )
    cfg = config_from_dict(section["config"])
    sae = build_sae(cfg)
    state = read_weights(w_path, what="SAE weights file")
    needed = ["W_enc", "W_dec", "b_enc", "b_dec"] + (["threshold"] if cfg.architecture in THRESHOLD_ARCHS else [])
    missing = [name for name in needed if name not in state]
    if missing:
        raise InputFormatError(f"SAE weights lack tensor(s) {', '.join(missing)}", path=w_path)
    with torch.no_grad():
        for name in ("W_enc", "W_dec", "b_enc", "b_dec"):
            if state[name].shape != getattr(sae, name).shape:
                raise InputFormatError(
                    f"{name} has shape {tuple(state[name].shape)}, config says {tuple(getattr(sae, name).shape)}",
                    path=w_path,
                )
            getattr(sae, name).copy_(state[name])
        if cfg.architecture == "jumprelu":
            sae.log_threshold.copy_(state["threshold"].clamp_min(1e-12).log())
        elif cfg.architecture in ("batchtopk", "matryoshka"):
            sae.threshold.copy_(state["threshold"][0])
    sae.eval()
    return sae.to(device)


def read_weights(path: Path, *, what: str) -> dict[str, torch.Tensor]:
    """All tensors of a safetensors file, after checking its size and (where recorded) its checksum.

    A file cut short, grown or damaged is an error naming it, never a ``SafetensorError`` traceback.
    """
    verify_digest(path, what=what)
    try:
        return load_file(str(path))
    except SafetensorError as exc:
        raise InputFormatError(f"{what} is damaged: {exc}", path=path) from None


def check_compatible(sae: SparseAutoencoder, provenance: Provenance, *, what: str = "input") -> None:
    """Raise :class:`ConfigError` if the SAE was trained on another model, layer or tokenizer.

    Fields unknown on either side (``""`` or ``-1``) are not compared.

    Parameters
    ----------
    sae
        The SAE.
    provenance
        What it is about to be applied to.
    what
        How the error names the input (e.g. ``"store results/store"``).
    """
    check_provenance(sae.cfg.provenance, provenance, owner="SAE", name=sae.cfg.name, what=what)


def save_training_state(
    saes: list[SparseAutoencoder],
    optimizers: list[torch.optim.Optimizer],
    loop: dict[str, Any],
    path: str | Path,
) -> None:
    """Atomically write everything needed to resume: parameters, buffers, Adam moments, loop state."""
    target = Path(path)
    tmp = _atomic_dir(target)
    try:
        for i, (sae, opt) in enumerate(zip(saes, optimizers, strict=True)):
            tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in sae.state_dict().items()}
            names = dict(sae.named_parameters())
            index = {id(p): n for n, p in names.items()}
            steps = {}
            for p, st in opt.state.items():
                n = index[id(p)]
                for key, value in st.items():
                    if torch.is_tensor(value) and value.ndim > 0:
                        tensors[f"optim.{n}.{key}"] = value.detach().cpu().contiguous()
                    else:
                        steps[f"{n}.{key}"] = float(value)
            save_file(tensors, str(tmp / f"sae{i}.safetensors"))
            (tmp / f"sae{i}.optim.json").write_text(json.dumps(steps))
        (tmp / "trainer.json").write_text(json.dumps(loop, indent=2))
        _replace_dir(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def load_training_state(
    saes: list[SparseAutoencoder], optimizers: list[torch.optim.Optimizer], path: str | Path
) -> dict[str, Any]:
    """Restore what :func:`save_training_state` wrote; returns the loop state."""
    root = Path(path)
    loop = json.loads((root / "trainer.json").read_text())
    for i, (sae, opt) in enumerate(zip(saes, optimizers, strict=True)):
        tensors = read_weights(root / f"sae{i}.safetensors", what="training checkpoint")
        sae.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
        scalars = json.loads((root / f"sae{i}.optim.json").read_text())
        for n, p in sae.named_parameters():
            st = {}
            for key in ("exp_avg", "exp_avg_sq"):
                if f"optim.{n}.{key}" in tensors:
                    st[key] = tensors[f"optim.{n}.{key}"].to(p.device)
            if f"{n}.step" in scalars:
                st["step"] = torch.tensor(scalars[f"{n}.step"])
            if st:
                opt.state[p] = st
    return loop


def check_loop_config(saved: dict[str, Any], current: dict[str, Any]) -> None:
    if saved != current:
        raise ConfigError("the checkpoint was written with another configuration; use a new output directory")
