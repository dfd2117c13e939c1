"""``gl.tl``: the analysis steps, in scanpy's style (re-exports only; each step lives in its stage).

Functions that act on an AnnData (samples × features) take it first and everything else by keyword,
write their results into documented ``obs``/``var``/``uns`` keys (``key_added``), work in place by
default (``copy=False``) and, with ``copy=True``, leave the input untouched and work on a copy. Each also
returns a result object (a table and a summary), which ``gl.write_*`` saves and ``gl.read_*`` reads back.

The command line calls exactly these functions: ``genolens aggregate`` -> :func:`aggregate`,
``genolens ancestry`` -> :func:`ancestry`, ``genolens kinship`` -> :func:`kinship`,
``genolens associate`` -> :func:`associate` (``--cis``:
:func:`cis`), ``genolens audit`` -> :func:`audit`, ``genolens baseline`` -> :func:`baseline`, ``genolens
annotate`` -> :func:`annotate`, ``genolens track`` -> :func:`write_feature_track`, ``genolens erase`` ->
:func:`erase_features`, ``genolens probe train`` -> :func:`probe`, ``genolens variant-effects`` ->
:func:`variant_effects`, ``genolens ism`` -> :func:`ism`, ``genolens ablate`` -> :func:`ablate`, ``genolens
steer`` -> :func:`steer` (``associate``, ``cis`` and ``audit`` also take the path of a ``.h5ad``).

Where each lives: :mod:`genolens.cohort.steps` (aggregate, ancestry), :mod:`genolens.stats.steps` (associate,
cis, baseline, audit), :mod:`genolens.features.steps` (annotate, feature tracks), :mod:`genolens.probes`
(probe, erase) and :mod:`genolens.runs` (the interventions, which write folders with report pages).
"""

from genolens.cohort.steps import aggregate, ancestry, kinship
from genolens.features.concepts import align_concepts
from genolens.features.motifs import feature_motif
from genolens.features.steps import annotate, feature_track, write_feature_track
from genolens.probes.erase import erase
from genolens.probes.probe_train import probe
from genolens.probes.steps import erase_features
from genolens.runs import ablate, ism, steer, variant_effects, variants_behind
from genolens.stats.steps import associate, audit, baseline, cis

__all__ = [
    "ablate", "aggregate", "align_concepts", "ancestry", "annotate", "associate", "audit", "baseline", "cis",
    "erase", "erase_features", "feature_motif", "feature_track", "ism", "kinship", "probe", "steer", "variant_effects",
    "variants_behind", "write_feature_track",
]
