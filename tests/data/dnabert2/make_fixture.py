"""Make the DNABERT-2 reference fixture: a tiny random MosaicBERT checkpoint and the original code's outputs.

Usage (from the repository root)::

    python tests/data/dnabert2/make_fixture.py --original PATH [--out tests/data/dnabert2]

``PATH`` is DNABERT-2's own modelling code: a folder holding ``bert_layers.py``
(with its ``bert_padding.py``, as downloaded with the ``zhihan1996/DNABERT-2-117M``
checkpoint; ``flash_attn_triton`` absent, so its PyTorch attention path runs),
or a single ``.py`` file with the same classes. That code is not part of genolens
and is not committed; it builds ``BertForMaskedLM`` from a ``transformers.BertConfig``
(its own ``BertPreTrainedModel`` base may need transformers<5).

Writes into ``--out``: ``checkpoint/`` (``config.json`` in DNABERT-2's form,
``tokenizer.json``, ``model.safetensors`` with ``bert.*`` and ``cls.*`` tensors),
``reference.safetensors`` (per sequence: embedding output and every encoder
layer's output for all tokens incl. [CLS]/[SEP], run one sequence at a time and
as one padded batch; masked-LM logits of the last layer) and ``reference.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import importlib.util
import json
import random
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

SEQUENCES = {
    "plain": "ACGTTGCAAGGCTTAACGGATCCGATTACAACGTTAGCATGCATCGATCGGATCCAT",
    "with_n": "TTAGGCNNNNACGTAGCTAGGATTACA",
    "lower": "acgtacgtTTGACAggcgcgcATATAAT",
    "short": "ACG",
    "long": "".join(random.Random(11).choice("ACGT") for _ in range(400)),
}
CONFIG = {
    "architectures": ["BertForMaskedLM"],
    "model_type": "bert",
    "auto_map": {
        "AutoConfig": "configuration_bert.BertConfig",
        "AutoModel": "bert_layers.BertModel",
        "AutoModelForMaskedLM": "bert_layers.BertForMaskedLM",
    },
    "alibi_starting_size": 64,  # smaller than the long sequence: the original rebuilds its ALiBi table
    "attention_probs_dropout_prob": 0.0,
    "hidden_dropout_prob": 0.1,
    "hidden_act": "gelu",
    "hidden_size": 48,
    "intermediate_size": 80,
    "layer_norm_eps": 1e-12,
    "max_position_embeddings": 512,
    "num_attention_heads": 6,  # not a power of two: exercises ALiBi's interleaved slopes
    "num_hidden_layers": 3,
    "pad_token_id": 0,
    "type_vocab_size": 2,
}


def train_tokenizer(path: Path) -> int:
    """A DNABERT-2-style BPE tokenizer.json ([CLS] $A [SEP]); returns the vocabulary size."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers

    rng = random.Random(5)
    corpus = ["".join(rng.choice("ACGTN" if i % 7 == 0 else "ACGT") for _ in range(300)) for i in range(300)]
    tok = Tokenizer(models.BPE(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    specials = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"]  # DNABERT-2's order: [PAD] is 3
    tok.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=160, special_tokens=specials))
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))],
    )
    tok.save(str(path))
    return tok.get_vocab_size()


def load_original(path: Path):  # noqa: ANN201 - a module
    if path.is_dir():
        sys.path.insert(0, str(path.parent))
        return importlib.import_module(f"{path.name}.bert_layers")
    spec = importlib.util.spec_from_file_location("original_bert_layers", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def random_state(model: torch.nn.Module, seed: int) -> dict[str, torch.Tensor]:
    """Random weights for every tensor, independent of the class's own initialisation."""
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for name, tensor in sorted(model.state_dict().items()):
        if not tensor.is_floating_point():
            state[name] = tensor.clone()
        elif "LayerNorm" in name or "layernorm" in name:
            base = 1.0 if name.endswith("weight") else 0.0
            state[name] = base + 0.1 * torch.randn(tensor.shape, generator=gen)
        elif tensor.ndim == 2:
            scale = 1.0 if "embeddings" in name else tensor.shape[1] ** -0.5
            state[name] = scale * torch.randn(tensor.shape, generator=gen)
        else:
            state[name] = 0.05 * torch.randn(tensor.shape, generator=gen)
    state["cls.predictions.decoder.weight"] = state["bert.embeddings.word_embeddings.weight"]
    return state


def run_layers(model, ids: torch.Tensor, mask: torch.Tensor) -> list[torch.Tensor]:  # noqa: ANN001
    """Embedding output and each encoder layer's output, ``[batch, s, dim]``, read by forward hooks.

    The original's layers work on unpadded ``[tokens, dim]`` rows (the order of
    ``mask.flatten().nonzero()``); they are padded back here.
    """
    outs: list[torch.Tensor] = []
    bert = model.bert
    hooks = [bert.embeddings.register_forward_hook(lambda m, i, o: outs.append(o))]
    for layer in bert.encoder.layer:
        hooks.append(layer.register_forward_hook(lambda m, i, o: outs.append(o)))
    with torch.no_grad():
        bert(ids, attention_mask=mask)
    for h in hooks:
        h.remove()
    b, s = ids.shape
    flat = mask.flatten().nonzero().flatten()
    padded = [outs[0]]
    for o in outs[1:]:
        full = torch.zeros(b * s, o.shape[-1])
        full[flat] = o
        padded.append(full.view(b, s, -1))
    return padded


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--original", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    args = ap.parse_args()
    from tokenizers import Tokenizer
    from transformers import BertConfig

    ckpt = args.out / "checkpoint"
    ckpt.mkdir(parents=True, exist_ok=True)
    config = {**CONFIG, "vocab_size": train_tokenizer(ckpt / "tokenizer.json")}
    (ckpt / "config.json").write_text(json.dumps(config, indent=2) + "\n")

    original = load_original(args.original)
    model = original.BertForMaskedLM(BertConfig(**config)).eval()
    state = random_state(model, seed=7)
    model.load_state_dict(state, strict=False)
    saved = {k: v.contiguous().clone() for k, v in state.items() if not k.endswith("token_type_ids")}
    save_file(saved, str(ckpt / "model.safetensors"))

    tok = Tokenizer.from_file(str(ckpt / "tokenizer.json"))
    ids = {name: tok.encode(seq.upper()).ids for name, seq in SEQUENCES.items()}
    tensors: dict[str, torch.Tensor] = {}
    for name, seq_ids in ids.items():
        t = torch.tensor([seq_ids])
        for layer, h in enumerate(run_layers(model, t, torch.ones_like(t))):
            tensors[f"single.{name}.L{layer}"] = h[0].contiguous()
        with torch.no_grad():
            tensors[f"single.{name}.logits"] = model.cls(tensors[f"single.{name}.L{CONFIG['num_hidden_layers']}"])
    longest = max(len(v) for v in ids.values())
    batch = torch.full((len(ids), longest), tok.token_to_id("[PAD]"))
    mask = torch.zeros_like(batch)
    for row, seq_ids in enumerate(ids.values()):
        batch[row, : len(seq_ids)] = torch.tensor(seq_ids)
        mask[row, : len(seq_ids)] = 1
    for layer, h in enumerate(run_layers(model, batch, mask)):
        for row, (name, seq_ids) in enumerate(ids.items()):
            tensors[f"batch.{name}.L{layer}"] = h[row, : len(seq_ids)].contiguous()
    save_file(tensors, str(args.out / "reference.safetensors"))
    source = args.original / "bert_layers.py" if args.original.is_dir() else args.original
    meta = {
        "sequences": SEQUENCES,
        "ids": ids,
        "layers": list(range(CONFIG["num_hidden_layers"] + 1)),
        "original_code_sha256": hashlib.sha256(source.read_bytes()).hexdigest(),
        "torch": torch.__version__,
    }
    (args.out / "reference.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(f"wrote {ckpt} and the reference outputs of {len(ids)} sequences")


if __name__ == "__main__":
    main()
