"""The cohort: per-sample features, ancestry and phenotypes, the inputs of the association engine.

- :mod:`~genolens.cohort.aggregate`: per-token activations (or SAE features) pooled per sample and region
  into AnnData (samples x features);
- :mod:`~genolens.cohort.store_features`: the same, streamed from an activation store through an SAE;
- :mod:`~genolens.cohort.ancestry`: genotype PCs from a VCF (PLINK-style), ``.eigenvec`` files, population panels;
- :mod:`~genolens.cohort.sample_table`: joining PCs and panels onto the samples;
- :mod:`~genolens.cohort.phenotype_bed`: phenotypes per gene in tensorQTL's BED layout.
"""

from genolens.cohort.aggregate import (
    AggregationConfig,
    TokenChunk,
    aggregate_activations,
    aggregate_chunks,
    read_features,
    write_features,
)
from genolens.cohort.ancestry import AncestryPCs, PCAConfig, genotype_pcs, read_eigenvec, read_panel, vcf_pcs
from genolens.cohort.phenotype_bed import PhenotypeBed, read_phenotype_bed

__all__ = [
    "AggregationConfig",
    "AncestryPCs",
    "PCAConfig",
    "PhenotypeBed",
    "TokenChunk",
    "aggregate_activations",
    "aggregate_chunks",
    "genotype_pcs",
    "read_eigenvec",
    "read_features",
    "read_panel",
    "read_phenotype_bed",
    "vcf_pcs",
    "write_features",
]
