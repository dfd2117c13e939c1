"""Weights and tokeniser fingerprints change exactly when the model or vocabulary does."""

from __future__ import annotations

import torch
from torch import nn

from genolens.adapters.fingerprint import tokenizer_fingerprint, weights_fingerprint
from genolens.adapters.tokens import CharTokenizer


def test_weights_fingerprint_tracks_every_change():
    torch.manual_seed(0)
    a = nn.Sequential(nn.Linear(64, 64), nn.Linear(64, 8))
    b = nn.Sequential(nn.Linear(64, 64), nn.Linear(64, 8))
    b.load_state_dict(a.state_dict())
    assert weights_fingerprint(a) == weights_fingerprint(b)
    with torch.no_grad():
        b[1].bias[3] += 1e-3
    assert weights_fingerprint(a) != weights_fingerprint(b)


def test_tokenizer_fingerprint_tracks_vocabulary():
    v = {"A": 0, "C": 1, "G": 2, "T": 3, "[UNK]": 4, "[PAD]": 5}
    t1 = CharTokenizer(v, 4, 5)
    t2 = CharTokenizer({**v, "N": 6}, 4, 5)
    assert tokenizer_fingerprint(t1) == tokenizer_fingerprint(CharTokenizer(dict(v), 4, 5))
    assert tokenizer_fingerprint(t1) != tokenizer_fingerprint(t2)
    assert tokenizer_fingerprint(t1).startswith("CharTokenizer:6:")
