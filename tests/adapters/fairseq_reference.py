"""fairseq's RoBERTa encoder written out in plain torch, straight from the checkpoint's own tensor names.

An independent reference for the fairseq -> transformers conversion: it never goes
through transformers, so a wrong rename, eps or position offset shows.
fairseq (post-norm RoBERTa): x = LN_emb(E_tok[ids] + E_pos[positions]), positions
counting non-pad tokens from padding_idx + 1; per layer x = LN1(x + attn(x)),
x = LN2(x + fc2(gelu(fc1(x)))); layer norms with eps 1e-5.
"""

from __future__ import annotations

import math

import torch

from genolens.adapters.fairseq_roberta import encoder_prefix

PAD = 1


def fairseq_hidden(state: dict[str, torch.Tensor], ids: torch.Tensor, *, heads: int) -> list[torch.Tensor]:
    """``[embeddings, layer 1, ...]`` of one unpadded sequence ``ids`` (``[tokens]``), each ``[tokens, dim]``."""
    p = encoder_prefix(state)

    def ln(x: torch.Tensor, name: str) -> torch.Tensor:
        return torch.nn.functional.layer_norm(x, x.shape[-1:], state[name + ".weight"], state[name + ".bias"], 1e-5)

    def lin(x: torch.Tensor, name: str) -> torch.Tensor:
        return x @ state[name + ".weight"].T + state[name + ".bias"]

    not_pad = ids.ne(PAD).long()
    positions = torch.cumsum(not_pad, 0) * not_pad + PAD
    x = ln(state[p + "embed_tokens.weight"][ids] + state[p + "embed_positions.weight"][positions], p + "emb_layer_norm")
    hidden = [x]
    i = 0
    while f"{p}layers.{i}.fc1.weight" in state:
        lp = f"{p}layers.{i}."
        q, k, v = (lin(x, f"{lp}self_attn.{n}_proj") for n in "qkv")
        t, d = q.shape
        q, k, v = (z.view(t, heads, d // heads).transpose(0, 1) for z in (q, k, v))
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d // heads), -1) @ v
        x = ln(x + lin(att.transpose(0, 1).reshape(t, d), lp + "self_attn.out_proj"), lp + "self_attn_layer_norm")
        x = ln(x + lin(torch.nn.functional.gelu(lin(x, lp + "fc1")), lp + "fc2"), lp + "final_layer_norm")
        hidden.append(x)
        i += 1
    return hidden
