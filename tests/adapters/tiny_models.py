"""Tiny randomly initialised checkpoints built from each family's real config class, saved to folders."""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

import torch

ESM2_VOCAB = ["<cls>", "<pad>", "<eos>", "<unk>", *"LAGVSERTIDPKQNFYMHWCXBUZO.-", "<null_1>", "<mask>"]
NT_VOCAB = [
    "<unk>",
    "<pad>",
    "<mask>",
    "<cls>",
    "<eos>",
    "<bos>",
    *("".join(p) for p in itertools.product("ATCG", repeat=6)),
    "A",
    "T",
    "C",
    "G",
    "N",
]
ANTIBERTY_VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *"ACDEFGHIKLMNPQRSTVWY"]


def _write_vocab(folder: Path, vocab: list[str]) -> Path:
    path = folder / "vocab.txt"
    path.write_text("\n".join(vocab) + "\n")
    return path


def make_esm2(folder: Path, *, layers: int = 3) -> Path:
    """ESM-2 style: rotary positions, one token per residue, <cls> ... <eos>."""
    from transformers import EsmConfig, EsmForMaskedLM

    torch.manual_seed(0)
    cfg = EsmConfig(
        vocab_size=len(ESM2_VOCAB),
        hidden_size=32,
        num_hidden_layers=layers,
        num_attention_heads=4,
        intermediate_size=64,
        pad_token_id=1,
        mask_token_id=32,
        position_embedding_type="rotary",
        token_dropout=True,
        max_position_embeddings=130,
        emb_layer_norm_before=False,
        architectures=["EsmForMaskedLM"],
    )
    EsmForMaskedLM(cfg).save_pretrained(folder)
    _write_vocab(folder, ESM2_VOCAB)
    return folder


def make_nt(folder: Path, *, layers: int = 2, eos: bool = False) -> Path:
    """Nucleotide Transformer style: learned absolute positions, 6-mers with single-base fallback."""
    from transformers import EsmConfig, EsmForMaskedLM

    torch.manual_seed(1)
    cfg = EsmConfig(
        vocab_size=len(NT_VOCAB),
        hidden_size=32,
        num_hidden_layers=layers,
        num_attention_heads=4,
        intermediate_size=64,
        pad_token_id=1,
        mask_token_id=2,
        position_embedding_type="absolute",
        token_dropout=False,
        max_position_embeddings=42,
        emb_layer_norm_before=False,
        architectures=["EsmForMaskedLM"],
    )
    EsmForMaskedLM(cfg).save_pretrained(folder)
    _write_vocab(folder, NT_VOCAB)
    (folder / "tokenizer_config.json").write_text(json.dumps({"eos_token": "<eos>" if eos else None}))
    return folder


def make_bert_protein(folder: Path, *, layers: int = 3) -> Path:
    """AntiBERTy style BERT with a one-residue-per-token vocabulary."""
    from transformers import BertConfig, BertForMaskedLM

    torch.manual_seed(2)
    cfg = BertConfig(
        vocab_size=len(ANTIBERTY_VOCAB),
        hidden_size=32,
        num_hidden_layers=layers,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=64,
        pad_token_id=0,
    )
    BertForMaskedLM(cfg).save_pretrained(folder)
    _write_vocab(folder, ANTIBERTY_VOCAB)
    return folder


def make_bpe_tokenizer(path: Path) -> Path:
    """A DNABERT-2-style BPE tokenizer.json trained on random DNA ([CLS] x [SEP] post-processing)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers

    rng = random.Random(3)
    corpus = ["".join(rng.choice("ACGT") for _ in range(300)) for _ in range(200)]
    tok = Tokenizer(models.BPE(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    trainer = trainers.BpeTrainer(vocab_size=120, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    tok.train_from_iterator(corpus, trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))],
    )
    tok.save(str(path))
    return path


def make_bert_bpe(folder: Path, *, layers: int = 2) -> Path:
    """DNABERT-2-style: BERT over a BPE DNA vocabulary (tokenizer.json in the folder)."""
    from tokenizers import Tokenizer
    from transformers import BertConfig, BertForMaskedLM

    folder.mkdir(parents=True, exist_ok=True)
    make_bpe_tokenizer(folder / "tokenizer.json")
    vocab = Tokenizer.from_file(str(folder / "tokenizer.json")).get_vocab_size()
    torch.manual_seed(4)
    cfg = BertConfig(
        vocab_size=vocab,
        hidden_size=32,
        num_hidden_layers=layers,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=64,
        pad_token_id=0,
    )
    BertForMaskedLM(cfg).save_pretrained(folder)
    return folder


def make_hyena(folder: Path, *, layers: int = 2, max_seq_len: int = 66) -> Path:
    """HyenaDNA with the native implementation, randomly initialised (config.json + model.safetensors)."""
    from genolens.adapters.hyena import HyenaConfig, HyenaDNA

    torch.manual_seed(5)
    cfg = HyenaConfig(d_model=16, d_inner=32, n_layer=layers, max_seq_len=max_seq_len, filter_order=8)
    model = HyenaDNA(cfg)
    with torch.no_grad():  # non-trivial filter bias and layer norms so a wrong wiring shows
        for p in model.parameters():
            if p.dim() == 1:
                p.add_(0.1 * torch.randn_like(p))
    model.save_pretrained(folder)
    return folder


IGLM_VOCAB = [
    "[PAD]",
    "[UNK]",
    "[CLS]",
    "[SEP]",
    "[MASK]",
    *"ACDEFGHIKLMNPQRSTVWY",
    "[CAMEL]",
    "[HUMAN]",
    "[MOUSE]",
    "[RABBIT]",
    "[RAT]",
    "[RHESUS]",
    "[HEAVY]",
    "[LIGHT]",
]


def make_gpt2(folder: Path, *, layers: int = 3) -> Path:
    """IgLM-style GPT-2: one token per residue, chain and species tags in the vocabulary."""
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(6)
    cfg = GPT2Config(
        vocab_size=len(IGLM_VOCAB),
        n_embd=32,
        n_layer=layers,
        n_head=4,
        n_inner=64,
        n_positions=48,
        activation_function="gelu_new",
        architectures=["GPT2LMHeadModel"],
    )
    GPT2LMHeadModel(cfg).save_pretrained(folder)
    _write_vocab(folder, IGLM_VOCAB)
    return folder


SAPIENS_SYMBOLS = list("ACDEFGHIKLMNPQRSTVWY")


def make_fairseq_roberta(folder: Path, *, layers: int = 2, hidden: int = 16, positions: int = 40) -> Path:
    """A Sapiens-style fairseq RoBERTa checkpoint (``checkpoint.pt`` + ``dict.txt``) with random weights."""
    import argparse

    torch.manual_seed(7)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dict.txt").write_text("".join(f"{s} 1\n" for s in SAPIENS_SYMBOLS))
    n_vocab = 4 + len(SAPIENS_SYMBOLS) + 1
    p = "decoder.sentence_encoder."
    state = {
        p + "embed_tokens.weight": torch.randn(n_vocab, hidden),
        p + "embed_positions.weight": torch.randn(positions + 2, hidden),
        p + "emb_layer_norm.weight": 1 + 0.1 * torch.randn(hidden),
        p + "emb_layer_norm.bias": 0.1 * torch.randn(hidden),
        "decoder.lm_head.weight": torch.randn(n_vocab, hidden),
    }
    shapes = {
        "q_proj": (hidden, hidden),
        "k_proj": (hidden, hidden),
        "v_proj": (hidden, hidden),
        "out_proj": (hidden, hidden),
    }
    for i in range(layers):
        lp = f"{p}layers.{i}."
        for name, shape in shapes.items():
            state[f"{lp}self_attn.{name}.weight"] = torch.randn(shape) / hidden**0.5
            state[f"{lp}self_attn.{name}.bias"] = 0.1 * torch.randn(shape[0])
        for name, shape in {"fc1": (2 * hidden, hidden), "fc2": (hidden, 2 * hidden)}.items():
            state[f"{lp}{name}.weight"] = torch.randn(shape) / shape[1] ** 0.5
            state[f"{lp}{name}.bias"] = 0.1 * torch.randn(shape[0])
        for name in ("self_attn_layer_norm", "final_layer_norm"):
            state[f"{lp}{name}.weight"] = 1 + 0.1 * torch.randn(hidden)
            state[f"{lp}{name}.bias"] = 0.1 * torch.randn(hidden)
    args = argparse.Namespace(
        arch="roberta_small",
        encoder_layers=layers,
        encoder_embed_dim=hidden,
        encoder_ffn_embed_dim=2 * hidden,
        encoder_attention_heads=4,
        max_positions=positions,
        activation_fn="gelu",
        encoder_normalize_before=False,
    )
    torch.save({"args": args, "model": state, "extra_state": {}}, folder / "checkpoint.pt")
    return folder


def make_roberta(folder: Path, *, layers: int = 2) -> Path:
    """A transformers RoBERTa folder with a one-residue-per-token vocab.txt (fairseq's token order)."""
    from transformers import RobertaConfig, RobertaForMaskedLM

    torch.manual_seed(8)
    vocab = ["<s>", "<pad>", "</s>", "<unk>", *SAPIENS_SYMBOLS, "<mask>"]
    cfg = RobertaConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=layers,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=42,
        pad_token_id=1,
        type_vocab_size=1,
        architectures=["RobertaForMaskedLM"],
    )
    RobertaForMaskedLM(cfg).save_pretrained(folder)
    _write_vocab(folder, vocab)
    return folder
