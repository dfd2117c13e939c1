"""Sharded on-disk activation store (safetensors shards + JSON metadata, versioned).

``write_store`` embeds sequences into a store (atomic shards, resumable);
``ActivationStore`` reads one; ``ShuffledLoader`` streams shuffled batches for
SAE training with bounded memory.
"""

from genolens.store.format import VERSION, StoreConfig
from genolens.store.loader import ShuffledLoader
from genolens.store.reader import ActivationStore
from genolens.store.writer import WriteSummary, write_store

__all__ = ["VERSION", "ActivationStore", "ShuffledLoader", "StoreConfig", "WriteSummary", "write_store"]
