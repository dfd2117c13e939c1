"""Interpret SAE features: per-feature statistics and top contexts, concept alignment, motifs and logos,
and per-base reference tracks of a unit or a feature (``genolens track``).

``annotate_features(StoreSource(store), sae=..., out=...)`` runs every step and writes the folder
that :mod:`genolens.report` turns into a dashboard (``genolens annotate`` / ``genolens dashboard``).
"""

from genolens.features.annotate import AnnotateConfig, annotate_features
from genolens.features.concept_sets import ConceptSet, concept_set, read_concepts, read_tsv_concepts
from genolens.features.concepts import Alignment, AlignmentConfig, align_concepts, split_sequences
from genolens.features.contexts import check_sequences, read_contexts, top_contexts, write_contexts
from genolens.features.jaspar import Motif, read_jaspar
from genolens.features.logo import logo_png
from genolens.features.motifs import (
    MotifConfig,
    MotifDatabase,
    compare_pwm,
    feature_motif,
    information_content,
    probabilities,
    reverse_complement,
    trim,
    windows_pwm,
)
from genolens.features.neurons import NeuronBasis, compare_with_neurons, count_matched
from genolens.features.source import StoreSource
from genolens.features.summary import FeatureSummary, SummaryConfig, summarize_features
from genolens.features.tracks import (
    ReferenceTracks,
    TrackConfig,
    check_contigs,
    feature_values,
    reference_tracks,
    select_sequences,
    unit_values,
    write_tracks,
)

__all__ = [
    "Alignment", "AlignmentConfig", "AnnotateConfig", "ConceptSet", "FeatureSummary", "Motif", "MotifConfig",
    "MotifDatabase", "NeuronBasis", "ReferenceTracks", "StoreSource", "SummaryConfig", "TrackConfig", "align_concepts",
    "annotate_features", "check_contigs", "check_sequences", "compare_pwm", "compare_with_neurons", "concept_set",
    "count_matched", "feature_motif", "feature_values", "information_content", "logo_png", "probabilities",
    "read_concepts", "read_contexts",
    "read_jaspar", "read_tsv_concepts", "reference_tracks", "reverse_complement", "select_sequences",
    "split_sequences", "summarize_features", "top_contexts", "trim", "unit_values", "windows_pwm",
    "write_contexts", "write_tracks",
]
