"""Loss recovered: the model's own loss with the SAE's reconstruction spliced into its layer.

Three forward passes over the same tokens: clean; with the layer's output at
every real token replaced by the SAE reconstruction; and with it replaced by
zeros. ``recovered = (zero - spliced) / (zero - clean)``: 1 means the SAE
keeps everything the model uses from that layer, 0 means it is no better than
deleting the layer. Masked-language models are scored on ``mask_fraction`` of
real tokens replaced by the mask token (the same positions in all three
passes, chosen by ``seed``); next-token models on every real token whose
successor is real. Special and padding tokens are never replaced.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from genolens.adapters.base import Adapter
from genolens.adapters.batching import pad_batch, plan_batches
from genolens.adapters.heads import LMHead, language_model_head, lm_objective
from genolens.adapters.hooks import capture, intervene
from genolens.errors import ConfigError
from genolens.io.fasta import read_fasta
from genolens.provenance import Provenance
from genolens.sae.base import SparseAutoencoder
from genolens.sae.checkpoint import check_compatible


@dataclass
class LossRecovered:
    clean: float
    spliced: float
    zero_ablated: float
    recovered: float
    tokens: int
    objective: str
    layer: int

    def to_dict(self) -> dict:
        return asdict(self)


@torch.no_grad()
def splice_losses(
    sae: SparseAutoencoder,
    adapter: Adapter,
    sequences: list[str],
    *,
    layer: int,
    head: LMHead | None = None,
    mask_fraction: float = 0.15,
    seed: int = 0,
    batch_tokens: int = 4096,
) -> LossRecovered:
    """Clean, spliced and zero-ablated cross-entropy of ``adapter`` on ``sequences``."""
    if not 0 < mask_fraction < 1:
        raise ConfigError(f"mask_fraction must be in (0, 1), got {mask_fraction}")
    head = head or language_model_head(adapter)
    sae = sae.to(adapter.device).eval()
    toks = [adapter.tokenizer.encode(s) for s in sequences]
    toks = [t for t in toks if len(t) <= adapter.max_tokens]
    if not toks:
        raise ConfigError("no sequence fits the model's context for the loss check")
    rng = np.random.default_rng(seed)
    totals = {"clean": 0.0, "spliced": 0.0, "zero": 0.0}
    n_scored = 0
    plan = plan_batches([len(t) for t in toks], batch_tokens=batch_tokens)
    for batch in plan.batches:
        ids, attn = pad_batch([toks[i].input_ids for i in batch], pad_id=adapter.tokenizer.pad_id)
        real = torch.zeros_like(ids, dtype=torch.bool)
        for row, i in enumerate(batch):
            real[row, : len(toks[i])] = torch.from_numpy(toks[i].spans[:, 0] >= 0)
        inputs, targets, scored = lm_objective(head, ids, real, mask_fraction=mask_fraction, rng=rng)
        if not scored.any():
            continue
        inputs, attn = inputs.to(adapter.device), attn.to(adapter.device)
        real_d = real.to(adapter.device)
        edits = {
            "clean": None,
            "spliced": lambda a, m=real_d: torch.where(m[..., None], sae.decode(sae.encode(a.float())).to(a.dtype), a),
            "zero": lambda a, m=real_d: torch.where(m[..., None], torch.zeros_like(a), a),
        }
        for name, edit in edits.items():
            with contextlib.ExitStack() as stack:
                if edit is not None:
                    stack.enter_context(intervene(adapter, layer, edit))
                acts = stack.enter_context(capture(adapter, [adapter.num_layers], stop=False))
                adapter._call_model(inputs, attn)
            logits = head.logits(acts[adapter.num_layers].float())
            ce = F.cross_entropy(logits[scored.to(logits.device)], targets[scored].to(logits.device), reduction="sum")
            totals[name] += float(ce)
        n_scored += int(scored.sum())
    clean, spliced, zero = (totals[k] / n_scored for k in ("clean", "spliced", "zero"))
    recovered = (zero - spliced) / (zero - clean) if zero != clean else float("nan")
    return LossRecovered(clean, spliced, zero, recovered, n_scored, head.objective, layer)


def loss_recovered(
    sae: SparseAutoencoder,
    *,
    model: str,
    fasta: str | Path | None = None,
    sequences: Mapping[str, str] | None = None,
    max_sequences: int = 64,
    device: str = "cpu",
    seed: int = 0,
    heldout_fraction: float | None = None,
) -> LossRecovered:
    """Load ``model`` (which must be the SAE's) and measure loss recovered on ``fasta`` or ``sequences``.

    ``sequences`` maps IDs to bases (e.g. a store's own, :meth:`ActivationStore.bases_by_id`); only the
    ones used are read. With ``heldout_fraction``, only sequences the training split held out are used
    when there are any (the same IDs as the store); otherwise all of them.
    """
    if (fasta is None) == (sequences is None):
        raise ConfigError("loss recovered reads exactly one of a FASTA or a mapping of sequences")
    from genolens.adapters.registry import load_adapter
    from genolens.store.embed import model_provenance

    layer = sae.cfg.provenance.layer
    check_compatible(sae, Provenance(model=model, layer=layer), what=f"model {model}")
    adapter = load_adapter(model, device=device)
    check_compatible(sae, model_provenance(adapter, model=model, layer=layer), what=f"model {model}")
    if fasta is not None:
        sequences = {r.id: r.sequence for r in read_fasta(fasta, alphabet=adapter.alphabet)}
    ids = list(sequences)
    if heldout_fraction:
        from genolens.sae.data import is_heldout

        ids = [i for i in ids if is_heldout(i, heldout_fraction)] or ids
    texts = [sequences[i] for i in ids[:max_sequences]]
    return splice_losses(sae, adapter, texts, layer=layer, seed=seed)


def decoder_directions(sae: SparseAutoencoder, features: torch.Tensor) -> torch.Tensor:
    """The raw-space decoder rows ``W_dec[f] / input_scale`` of ``features`` (what one unit of each adds).

    Parameters
    ----------
    sae
        The SAE.
    features
        ``[n]`` feature indices.

    Returns
    -------
    torch.Tensor
        ``[n, d_in]`` float32 rows: adding ``v`` times row ``i`` is what raising feature ``features[i]``
        by ``v`` does to the SAE's reconstruction.
    """
    return (sae.W_dec[features.to(sae.W_dec.device)] / sae.input_scale).detach().float()


def set_features(
    sae: SparseAutoencoder,
    acts: torch.Tensor,
    features: torch.Tensor,
    *,
    positions: torch.Tensor,
    values: torch.Tensor | None = None,
    codes: torch.Tensor | None = None,
) -> torch.Tensor:
    """``acts`` with one feature per row set to a value through the SAE, its error term kept.

    Row ``r`` becomes ``decode(z') + (acts - decode(z))`` where ``z = encode(acts)`` and ``z'`` is ``z``
    with feature ``features[r]`` set to ``values[r]`` (0: ablated) at ``positions``; since the decoder is
    linear this is ``acts + (values[r] - z_f) * W_dec[f] / input_scale``, computed that way, so a row whose
    feature is zero where it is set to zero (or ``features[r] == -1``) comes back bit for bit.

    Parameters
    ----------
    sae
        The SAE of this layer.
    acts
        ``[rows, tokens, d_in]`` activations.
    features
        ``[rows]`` feature per row; ``-1`` leaves the row unchanged.
    positions
        ``[rows, tokens]`` (or ``[1, tokens]``) boolean: where the feature is set (real tokens).
    values
        ``[rows]`` values the feature is set to; None: 0 (ablation).
    codes
        ``encode(acts)`` when already computed (``[rows or 1, tokens, d_sae]``); None: computed here.

    Returns
    -------
    torch.Tensor
        The edited activations, dtype and shape of ``acts``.
    """
    x = acts.float()
    feats = features.to(x.device)
    idx = feats.clamp_min(0)
    z = sae.encode(x) if codes is None else codes.to(x.device).float().expand(x.shape[0], -1, -1)
    zf = z.gather(-1, idx[:, None, None].expand(x.shape[0], x.shape[1], 1))[..., 0]
    target = torch.zeros_like(zf) if values is None else values.to(x.device, torch.float32)[:, None].expand_as(zf)
    keep = positions.to(x.device) & (feats >= 0)[:, None]
    coef = torch.where(keep, target - zf, torch.zeros_like(zf))
    out = x + coef[..., None] * decoder_directions(sae, idx)[:, None, :]
    return out.to(acts.dtype)
