"""Interpret an SAE's features on a store and write the results to a folder (the dashboard's input).

Two passes over the store: :func:`~genolens.features.summary.summarize_features`
(statistics, top rows), then, when annotations are given,
:func:`~genolens.features.concepts.align_concepts` (which needs each feature's
maximum from the first pass). Then top contexts (distinct loci), and for DNA the PWM
of each feature's distinct top windows compared with JASPAR.

No logos are drawn here: drawing took most of annotate's time on the demo, for pages
nobody opened. The PWMs are saved (``pwms.npz``); the dashboard draws the logos of the
features it writes pages for, and :meth:`~genolens.features.results.AnnotationResults.logo_png`
or ``gl.pl.logo`` draws any other on demand.

Output folder::

    annotate.json        format, genolens version, inputs, every config
    features.tsv         per feature: statistics, best concept, best motif match
    summary.npz          FeatureSummary arrays (histograms, top rows)
    contexts.tsv         top contexts, distinct loci (bases, per-base activations, n_sequences carrying each)
    concepts.npz         precision/recall/F1 [split, threshold, feature, concept]  (with annotations)
    best_concepts.tsv    best concept per feature; best_features.tsv: best feature per concept
    motifs.tsv           best JASPAR matches per feature; pwms.npz: the features' PWMs (n_sites distinct windows)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from genolens.errors import ConfigError
from genolens.features.concept_sets import ConceptSet
from genolens.features.concepts import Alignment, AlignmentConfig, align_concepts
from genolens.features.contexts import check_sequences, top_contexts, write_contexts
from genolens.features.jaspar import Motif
from genolens.features.motifs import MotifConfig, MotifDatabase, compare_pwm, feature_motif
from genolens.features.source import StoreSource
from genolens.features.summary import FeatureSummary, SummaryConfig, summarize_features
from genolens.io.files import output_folder
from genolens.io.runfolder import write_header

FORMAT = "genolens.feature-annotations"
FORMAT_VERSION = "0.2.0"  # 0.2.0: distinct-locus contexts, Gumbel motif p-values, no logos/ (drawn on demand)
READABLE_VERSIONS = ("0.1.0", FORMAT_VERSION)
DNA = set("ACGTN")


@dataclass(frozen=True)
class AnnotateConfig:
    """Settings of every step; saved in ``annotate.json``."""

    summary: SummaryConfig = field(default_factory=SummaryConfig)
    alignment: AlignmentConfig = field(default_factory=AlignmentConfig)
    motif: MotifConfig = field(default_factory=MotifConfig)
    max_motif_features: int = 256

    def __post_init__(self) -> None:
        if self.max_motif_features < 0:
            raise ConfigError(f"max_motif_features must be >= 0, got {self.max_motif_features}")


def _is_dna(sequences: Mapping[str, str] | None) -> bool:
    return sequences is not None and all(set(s) <= DNA for s in sequences.values())


def _merge_alignments(parts: list[Alignment]) -> Alignment | None:
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    names: list[str] = []
    for part in parts:
        names.extend(f"{n}#{len(names)}" if n in names else n for n in part.concepts)
    cat = lambda attr, axis: np.concatenate([getattr(p, attr) for p in parts], axis=axis)  # noqa: E731
    return Alignment(tuple(names), cat("precision", 3), cat("recall", 3), cat("f1", 3),
                     parts[0].n_rows, cat("n_instances", 1), parts[0].config)


def motif_results(
    contexts: pd.DataFrame,
    *,
    database: MotifDatabase,
    features: Sequence[int],
    config: MotifConfig,
    max_features: int,
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Matches of the most informative feature PWMs (up to ``max_features``) and every PWM built."""
    built = [fm for f in features if (fm := feature_motif(contexts, feature=int(f), config=config)) is not None]
    with_query = [fm for fm in built if fm.query is not None]
    with_query.sort(key=lambda fm: -float((2 + (fm.query * np.log2(fm.query)).sum(1)).sum()))
    tables = []
    for fm in with_query[:max_features]:
        table = compare_pwm(fm.query, database=database, config=config)
        table.insert(0, "feature", fm.feature)
        table.insert(1, "n_windows", fm.n_sites)
        tables.append(table)
    pwms = {
        "feature": np.array([fm.feature for fm in built], dtype=np.int64),
        "probs": np.stack([fm.probs for fm in built]) if built else np.zeros((0, 2 * config.flank + 1, 4)),
        "trimmed": np.array([fm.trimmed or (-1, -1) for fm in built], dtype=np.int64).reshape(-1, 2),
        "n_sites": np.array([fm.n_sites for fm in built], dtype=np.int64),
    }
    return (pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()), pwms


def annotate_features(
    source: StoreSource,
    *,
    sae: torch.nn.Module,
    out: str | Path,
    sequences: Mapping[str, str] | None = None,
    concepts: Sequence[ConceptSet] = (),
    motifs: Sequence[Motif] | None = None,
    config: AnnotateConfig | None = None,
    inputs: Mapping[str, str] | None = None,
) -> Path:
    """Run every interpretation step on ``source`` through ``sae`` and write the folder described above.

    ``sequences`` (checked against the store) give the bases of contexts and motifs; without them the
    store's own bases are used (format 0.3.0 on; an older store gives contexts without bases and no motifs).
    """
    config = config or AnnotateConfig()
    if sequences is not None:
        check_sequences(source, sequences=sequences)  # before the passes, not after them
    bases = sequences if sequences is not None else source.bases
    out = output_folder(out)
    summary: FeatureSummary = summarize_features(source, sae=sae, config=config.summary)
    np.savez_compressed(out / "summary.npz", **summary.to_npz())
    contexts = top_contexts(source, sae=sae, summary=summary, sequences=sequences, flank=config.motif.flank)
    write_contexts(contexts, path=out / "contexts.tsv")
    table = summary.table()
    parts = [
        align_concepts(source, sae=sae, concepts=c, feature_max=summary.max, config=config.alignment)
        for c in concepts
    ]
    alignment = _merge_alignments(parts)
    if alignment is not None:
        np.savez_compressed(out / "concepts.npz", **alignment.to_npz())
        best = alignment.best_concepts()
        best.to_csv(out / "best_concepts.tsv", sep="\t", index=False)
        alignment.best_features().to_csv(out / "best_features.tsv", sep="\t", index=False)
        table = table.merge(
            best.rename(columns={c: f"concept_{c}" for c in best.columns if c not in ("feature", "concept")}),
            on="feature", how="left",
        )
    dna = _is_dna(bases)
    if dna and motifs:
        database = MotifDatabase.build(motifs)
        alive = np.nonzero(summary.fires > 0)[0]
        matches, pwms = motif_results(
            contexts, database=database, features=alive, config=config.motif, max_features=config.max_motif_features
        )
        np.savez_compressed(out / "pwms.npz", **pwms)
        matches.to_csv(out / "motifs.tsv", sep="\t", index=False)
        if not matches.empty:
            top1 = matches[matches["rank"] == 1][["feature", "matrix_id", "name", "score", "z", "p_value", "e_value",
                                                  "p_empirical", "p_floor"]]
            table = table.merge(top1.add_prefix("motif_").rename(columns={"motif_feature": "feature"}),
                                on="feature", how="left")
    table.to_csv(out / "features.tsv", sep="\t", index=False)
    meta = {
        "store": str(source.path),
        "model": source.model,
        "layer": source.layer,
        "n_rows": summary.n_rows,
        "d_sae": summary.d_sae,
        "sae": {"name": sae.cfg.name, "architecture": sae.cfg.architecture, "d_in": sae.cfg.d_in},
        "alphabet": "dna" if dna else ("protein" if bases is not None else "unknown"),
        "has_sequences": bases is not None,
        "concept_sets": [{"space": c.space, "concepts": list(c.names)} for c in concepts],
        "motif_database_size": len(motifs) if (dna and motifs) else 0,
        "inputs": dict(inputs or {}),
        "config": asdict(config),
    }
    write_header(out / "annotate.json", encoding=FORMAT, version=FORMAT_VERSION, **meta)
    return out
