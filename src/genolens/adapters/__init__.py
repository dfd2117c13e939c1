"""Model adapters: one interface over genomic and protein foundation models.

``load_adapter(name_or_path)`` recognises the family from the checkpoint's config
and returns an :class:`Adapter`; ``adapter.embed(records, layers=[...])`` gives
per-token activations with each token's span of bases.
"""

from genolens.adapters.base import Adapter, EmbedResult, SequenceActivations
from genolens.adapters.registry import FAMILIES, load_adapter

__all__ = ["Adapter", "EmbedResult", "FAMILIES", "SequenceActivations", "load_adapter"]
