"""Probes and erasure: what a layer encodes, read cheaply beside the model, and a concept removed from it.

- :mod:`~genolens.probes.probe`: linear probes with grouped cross-validation and shuffled-label controls;
- :mod:`~genolens.probes.probe_data`: the rows a probe reads (bases, sequences, samples) from a store;
- :mod:`~genolens.probes.probe_train`: ``genolens probe train`` (cross-validated scores and the fitted probes);
- :mod:`~genolens.probes.probe_file`: a probe on disk, with the provenance that guards its use;
- :mod:`~genolens.probes.monitor` / :mod:`~genolens.probes.sidecar`: probes run in the model's forward pass;
- :mod:`~genolens.probes.erase` / :mod:`~genolens.probes.erase_store`: LEACE erasure of a concept from
  per-sample features or a store's tokens, audited.

Probes come after the association engine (:mod:`genolens.stats`): erasure audits a concept with its probes.
Submodules are imported by name (they load torch and scikit-learn).
"""
