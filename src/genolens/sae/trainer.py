"""Train one or several SAEs from a single pass over a stream of activations.

``batches(epoch)`` yields ``[batch, d_in]`` raw activations for an epoch (the
store's shuffled loader does this); every SAE in the sweep sees every batch,
so a sweep of widths, k or architectures costs one read of the data. The
loop is deterministic for a fixed seed and stream, checkpoints atomically
every ``checkpoint_every`` steps, and resumes from the last checkpoint so that
an interrupted run ends where an uninterrupted one would. Metrics go to
``metrics.jsonl`` (one JSON line per SAE every ``log_every`` steps).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path

import torch
from tqdm import tqdm

from genolens.errors import ConfigError
from genolens.sae.base import SparseAutoencoder
from genolens.sae.checkpoint import (
    check_loop_config,
    load_training_state,
    save_sae,
    save_training_state,
)
from genolens.sae.config import SAEConfig, TrainConfig
from genolens.sae.registry import build_sae

Batches = Callable[[int], Iterator[torch.Tensor]]


def _stream(batches: Batches, epoch: int, skip: int) -> Iterator[tuple[int, int, torch.Tensor]]:
    """(epoch, index in epoch, batch) forever, starting ``skip`` batches into ``epoch``."""
    while True:
        n = 0
        for i, batch in enumerate(batches(epoch)):
            n += 1
            if i < skip:
                continue
            yield epoch, i, batch
        if n == 0:
            raise ConfigError("the activation stream is empty")
        epoch, skip = epoch + 1, 0


def _init_sample(batches: Batches, n_tokens: int) -> torch.Tensor:
    rows, held = [], 0
    for batch in batches(0):
        rows.append(batch.float())
        held += batch.shape[0]
        if held >= n_tokens:
            break
    if not rows:
        raise ConfigError("the activation stream is empty")
    return torch.cat(rows)[:n_tokens]


def train_saes(
    batches: Batches,
    sae_configs: list[SAEConfig],
    train: TrainConfig,
    out_dir: str | Path,
    *,
    progress: bool = True,
    single: bool = False,
    record: dict | None = None,
) -> list[SparseAutoencoder]:
    """Train every SAE in ``sae_configs`` on the same stream; save each under ``out_dir/<name>``.

    With ``single=True`` (one SAE) it is saved in ``out_dir`` itself. ``record`` is added to each
    saved ``cfg.json``'s genolens section (e.g. the data's provenance and the passes over it).
    """
    if not sae_configs:
        raise ConfigError("no SAE to train")
    names = [c.name for c in sae_configs]
    if len(set(names)) != len(names):
        raise ConfigError(f"SAE names must be distinct, got {names}")
    if single and len(sae_configs) != 1:
        raise ConfigError("single=True needs exactly one SAE")
    if len({c.d_in for c in sae_configs}) != 1:
        raise ConfigError("all SAEs of one run must read the same activations (same d_in)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    device = torch.device(train.device)
    torch.manual_seed(train.seed)
    saes = [build_sae(c).to(device) for c in sae_configs]
    # fused Adam: one pass over each parameter instead of a dozen (6x faster on CPU at 4,096 x 512)
    fused = device.type in ("cpu", "cuda")
    opts = [torch.optim.Adam(s.param_groups(train.lr), lr=train.lr, betas=(0.9, 0.999), fused=fused) for s in saes]
    run_config = {"train": asdict(train), "saes": [c.to_dict() for c in sae_configs]}
    state_dir = out / "checkpoint"
    if (state_dir / "trainer.json").is_file():
        loop = load_training_state(saes, opts, state_dir)
        check_loop_config(loop["config"], json.loads(json.dumps(run_config)))
    else:
        sample = _init_sample(batches, train.init_tokens).to(device)
        for sae in saes:
            sae.init_from_data(sample)
        loop = {"step": 0, "tokens": 0, "epoch": 0, "next_batch": 0, "config": run_config}
    _truncate_metrics(out / "metrics.jsonl", loop["step"])
    total = train.total_steps
    stream = _stream(batches, loop["epoch"], loop["next_batch"])
    bar = tqdm(total=total, initial=loop["step"], unit="step", desc="train-sae", disable=not progress,
               mininterval=0.5 if sys.stderr.isatty() else 30.0)
    with open(out / "metrics.jsonl", "a") as log:
        while loop["step"] < total:
            epoch, index, batch = next(stream)
            x = batch.to(device, torch.float32, non_blocking=True)
            step = loop["step"]
            lr = train.lr_at(step)
            records = []
            for sae, opt in zip(saes, opts, strict=True):
                for group in opt.param_groups:
                    group["lr"] = lr * group.get("lr_scale", 1.0)
                result = sae.training_step(x, progress=step / total)
                opt.zero_grad(set_to_none=True)
                result.loss.backward()
                sae.before_step()
                opt.step()
                sae.after_step(result.fired, tokens=x.shape[0])
                records.append(result.metrics)
            loop.update(step=step + 1, tokens=loop["tokens"] + x.shape[0], epoch=epoch, next_batch=index + 1)
            if loop["step"] % train.log_every == 0 or loop["step"] == total:
                for sae, m in zip(saes, records, strict=True):
                    dead = float(sae.dead_mask().float().mean())
                    line = {"sae": sae.cfg.name, "step": loop["step"], "tokens": loop["tokens"], "lr": lr,
                            **m, "dead_fraction": dead}
                    log.write(json.dumps(line) + "\n")
                log.flush()
                first = records[0]
                bar.set_postfix(loss=f"{first['loss']:.4g}", l0=f"{first['l0']:.1f}",
                                dead=f"{float(saes[0].dead_mask().float().mean()):.1%}")
            bar.update(1)
            if loop["step"] % train.checkpoint_every == 0 or loop["step"] == total:
                log.flush()
                save_training_state(saes, opts, loop, state_dir)
    bar.close()
    calibration = list(_init_sample(batches, train.init_tokens).to(device).split(train.batch_size))
    for sae in saes:
        sae.eval()
        sae.calibrate(calibration)
        extra = {"train": asdict(train), "tokens_trained": loop["tokens"], **(record or {})}
        save_sae(sae, sae_dir(out, sae.cfg.name, single=single), extra=extra)
    return saes


def sae_dir(out_dir: Path, name: str, *, single: bool) -> Path:
    """The folder an SAE of a run is saved in: ``out_dir`` itself for a single SAE, else ``out_dir/name``.

    Parameters
    ----------
    out_dir
        The run's output folder (``train_saes(out_dir=...)``, ``genolens train-sae --out``).
    name
        The SAE's ``cfg.name`` (architecture, width, k and seed).
    single
        Whether the run trained one SAE (saved in ``out_dir``) or a sweep (one sub-folder each).

    Returns
    -------
    Path
        The folder holding ``sae_weights.safetensors`` and ``cfg.json``.
    """
    return Path(out_dir) if single else Path(out_dir) / name


def _truncate_metrics(path: Path, step: int) -> None:
    """Drop metric lines written after the checkpoint we resume from, so the log has no duplicates."""
    if not path.exists():
        return
    keep = [line for line in path.read_text().splitlines() if line and json.loads(line)["step"] <= step]
    path.write_text("".join(line + "\n" for line in keep))
