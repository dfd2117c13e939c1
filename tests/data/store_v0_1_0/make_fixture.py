"""Make the format-0.1.0 activation store fixture (read by tests/store/test_format_compat.py).

A store of every released format version is kept so that readers stay able to
read it (like anndata's backwards-compatibility fixtures). Made once with
genolens 0.1.0: ``python tests/data/store_v0_1_0/make_fixture.py``. Contents:
``model/`` a tiny random HyenaDNA (native implementation, seed 0), ``input.fa``
three short DNA sequences, ``store/`` their layers 1 and 3 (two shards).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import torch

from genolens.adapters.hyena import HyenaAdapter, HyenaConfig, HyenaDNA
from genolens.io.fasta import read_fasta
from genolens.store import StoreConfig, write_store

HERE = Path(__file__).parent


def main() -> None:
    torch.manual_seed(0)
    model = HyenaDNA(HyenaConfig(d_model=8, d_inner=16, n_layer=2, max_seq_len=34, filter_order=8))
    model.save_pretrained(HERE / "model")
    (HERE / "input.fa").write_text(">a\nACGTACGTTAGC\n>b\nGGGATTACANNACGT\n>c\nTTTTGCA\n")
    shutil.rmtree(HERE / "store", ignore_errors=True)
    adapter = HyenaAdapter.from_pretrained(HERE / "model")
    cfg = StoreConfig(model="model", family="hyenadna", layers=(1, 3), hidden_size=8, shard_size=20)
    write_store(read_fasta(HERE / "input.fa"), adapter, HERE / "store", config=cfg)


if __name__ == "__main__":
    main()
