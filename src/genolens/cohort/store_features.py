"""Per-sample features straight from an activation store, through an SAE or from the raw layer.

Streams the store shard by shard: each shard's rows of one layer are encoded by
the SAE (or kept as they are, for embedding audits), labelled with the sample,
haplotype and reference position of the sequence they came from, and fed to
:func:`~genolens.cohort.aggregate.aggregate_chunks`. Sequences without a sample
(plain FASTA input) count as a sample named after the sequence.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import anndata as ad
import numpy as np
import pandas as pd
import torch

from genolens.cohort.aggregate import AggregationConfig, TokenChunk, aggregate_chunks
from genolens.errors import ConfigError
from genolens.sae.base import SparseAutoencoder
from genolens.sae.checkpoint import check_compatible
from genolens.sae.data import StoreSplit
from genolens.store.reader import ActivationStore


def _chunks(
    store: ActivationStore, layer: int, sae: SparseAutoencoder | None, batch_rows: int
) -> Iterator[TokenChunk]:
    for shard in range(store.n_shards):
        seqs = store.shard_sequences(shard)
        row_seq = store.read(shard, "row.seq").numpy()
        ref = store.read(shard, "row.ref").numpy()
        samples = np.array([s.get("sample") or s["id"] for s in seqs], dtype=object)[row_seq]
        haps = np.array([s.get("haplotype") or 0 for s in seqs], dtype=np.int64)[row_seq]
        acts = store.activations(shard, layer).float()
        with torch.no_grad():
            if sae is not None:
                acts = torch.cat([sae.encode(part) for part in acts.split(batch_rows)]) if len(acts) else acts
        yield TokenChunk(acts.numpy(), samples, haps, ref[:, 0])


def store_features(
    store: ActivationStore,
    *,
    layer: int | None = None,
    sae: SparseAutoencoder | None = None,
    sample_sheet: pd.DataFrame | None = None,
    regions: Mapping[str, tuple[int, int]] | None = None,
    config: AggregationConfig = AggregationConfig(),
    batch_rows: int = 16_384,
    carriers: pd.DataFrame | None = None,
) -> ad.AnnData:
    """Samples × features AnnData of SAE features (``sae``) or raw layer activations (no ``sae``).

    ``layer`` defaults to the SAE's layer, or to the store's only layer; with an SAE its provenance must match
    the store. ``carriers``: the store holds distinct haplotypes (``genolens sequences --distinct``); each
    counts for its carriers.
    """
    if sae is not None:
        layer = sae.cfg.provenance.layer if layer is None else layer
        check_compatible(sae, StoreSplit(store, layer).provenance(), what=f"store {store.path}")
        names = [f"f{i}" for i in range(sae.cfg.d_sae)]
    elif layer is None:
        if len(store.layers) != 1:
            raise ConfigError(f"the store holds layers {list(store.layers)}: give the one to aggregate (or an SAE)")
        layer = int(store.layers[0])
    if sae is None:
        names = [f"L{layer}.d{i}" for i in range(store.config.hidden_size)]
    if layer not in store.layers:
        raise ConfigError(f"layer {layer} is not in the store (layers {list(store.layers)})")
    adata = aggregate_chunks(
        _chunks(store, layer, sae, batch_rows), regions=regions, feature_names=names,
        sample_sheet=sample_sheet, config=config, carriers=carriers,
    )
    adata.uns["source"] = {
        "store": str(store.path), "layer": layer, "model": store.config.model,
        "sae": sae.cfg.name if sae is not None else "", "kind": "sae_features" if sae is not None else "embedding",
        "store_complete": store.complete, "store_shards": store.n_shards,
    }
    return adata
