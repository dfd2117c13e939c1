"""genolens: open up genomic and protein foundation models.

``import genolens as gl``, then follow the data path:

- ``gl.io``: sequences and variants in (FASTA, reference + VCF haplotypes, regions, annotations, sample sheets);
- ``gl.models``: models by short name, hub id or folder;
- ``gl.store``: the on-disk activation store;
- ``gl.sae``: sparse autoencoders (train, load, evaluate);
- ``gl.tl``: analysis steps on stores and AnnData (aggregate, ancestry, associate, audit, annotate, tracks);
- ``gl.pl``: plots of their results (matplotlib, returning the axes);
- ``gl.read_*``: every output folder back as a typed result object.

Submodules load on first use, so ``import genolens`` stays light.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

try:
    __version__ = version("genolens")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

_SUBMODULES = ("io", "models", "store", "sae", "tl", "pl", "adapters", "features", "interventions", "probes", "cohort",
               "stats", "report", "errors")

# name -> (module, attribute): readers of every artefact and output folder, writers of the run folders
_READERS = {
    "read_fasta": ("genolens.io.fasta", "read_fasta"),
    "read_store": ("genolens.store.reader", "ActivationStore"),
    "read_sae": ("genolens.sae.checkpoint", "load_sae"),
    "read_features": ("genolens.cohort.aggregate", "read_features"),
    "write_features": ("genolens.cohort.aggregate", "write_features"),
    "read_eigenvec": ("genolens.cohort.ancestry", "read_eigenvec"),
    "write_eigenvec": ("genolens.cohort.ancestry", "write_eigenvec"),
    "read_ancestry": ("genolens.cohort.ancestry", "read_ancestry"),
    "read_association": ("genolens.stats.results", "read_association"),
    "write_association": ("genolens.stats.results", "write_association"),
    "read_audit": ("genolens.stats.results", "read_audit"),
    "write_audit": ("genolens.stats.results", "write_audit"),
    "read_cis": ("genolens.stats.results", "read_cis"),
    "write_cis": ("genolens.stats.results", "write_cis"),
    "read_baseline": ("genolens.stats.results", "read_baseline"),
    "write_baseline": ("genolens.stats.results", "write_baseline"),
    "read_phenotype_bed": ("genolens.cohort.phenotype_bed", "read_phenotype_bed"),
    "read_annotation": ("genolens.features.results", "read_results"),
    "read_variant_effects": ("genolens.report.variant_effects", "read_variant_effects"),
    "read_ablation": ("genolens.report.interventions", "read_ablation"),
    "read_steer": ("genolens.report.interventions", "read_steer"),
}

__all__ = ["__version__", *_SUBMODULES, *_READERS]

if TYPE_CHECKING:  # for type checkers and IDEs; at run time these load lazily
    from genolens import (  # noqa: F401
        adapters,
        cohort,
        errors,
        features,
        interventions,
        io,
        models,
        pl,
        probes,
        report,
        sae,
        stats,
        store,
        tl,
    )


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"genolens.{name}")
    if name in _READERS:
        module, attribute = _READERS[name]
        return getattr(importlib.import_module(module), attribute)
    raise AttributeError(f"module 'genolens' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
