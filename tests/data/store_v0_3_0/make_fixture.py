"""Make the format-0.3.0 activation store fixture (read by tests/store/test_format_compat.py).

A store of every released format version is kept so that readers stay able to
read it (like anndata's backwards-compatibility fixtures). Made once with the
last genolens that wrote 0.3.0: ``python tests/data/store_v0_3_0/make_fixture.py``.
It embeds the 0.1.0 fixture's ``input.fa`` with the 0.1.0 fixture's tiny model
(``../store_v0_1_0/model``), so both fixtures hold the same values; ``store/``
holds layers 1 and 3 in two shards, with the bases (``base.seq``, ``base.ref``)
and per-sequence SHA-256 that 0.3.0 added (no per-shard data checksum: 0.4.0 added it).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from genolens.adapters.fingerprint import tokenizer_fingerprint, weights_fingerprint
from genolens.adapters.hyena import HyenaAdapter
from genolens.io.fasta import read_fasta
from genolens.store import StoreConfig, write_store

HERE = Path(__file__).parent
V010 = HERE.parent / "store_v0_1_0"


def main() -> None:
    shutil.rmtree(HERE / "store", ignore_errors=True)
    adapter = HyenaAdapter.from_pretrained(V010 / "model")
    cfg = StoreConfig(model="model", family="hyenadna", layers=(1, 3), hidden_size=8, shard_size=20,
                      model_hash=weights_fingerprint(adapter.model), tokenizer=tokenizer_fingerprint(adapter.tokenizer))
    write_store(read_fasta(V010 / "input.fa"), adapter, HERE / "store", config=cfg)


if __name__ == "__main__":
    main()
