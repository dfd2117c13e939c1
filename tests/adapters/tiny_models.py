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
