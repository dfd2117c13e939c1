"""Train probes end to end: rows -> grouped CV (raw, SAE, shuffled controls, L1 path) -> probes on all rows.

:func:`train_probes` works on :class:`~genolens.probes.probe_data.ProbeRows`; :func:`probe` builds them
from a store (with an annotation or a label table) or an AnnData and is what ``gl.tl.probe`` and
``genolens probe train`` call. :class:`ProbeResult` writes ``metrics.tsv``, ``l1_path.tsv``,
``summary.json`` and one probe folder per target and representation (``<target>/raw``, ``<target>/sae``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anndata as ad
import pandas as pd

from genolens.errors import ConfigError
from genolens.io.files import write_json
from genolens.probes.probe import ProbeConfig, cross_validate, fit_linear
from genolens.probes.probe_data import ProbeRows, base_rows, sample_rows, sequence_rows
from genolens.probes.probe_file import LinearProbe, load_probe, save_probe

PathLike = str | os.PathLike[str]


@dataclass(eq=False)
class ProbeResult:
    """Cross-validated metrics (``table``), L1 paths, a JSON-ready summary and the probes fit on all rows.

    Attributes
    ----------
    table
        One row per target, representation (raw, SAE, shuffled controls) and metric, with its interval.
    l1
        The SAE-feature probes' L1 paths (features used against score).
    summary
        JSON-ready settings and counts.
    probes
        (target, representation) -> the probe fit on all rows.
    """

    table: pd.DataFrame
    l1: pd.DataFrame
    summary: dict[str, Any]
    probes: dict[tuple[str, str], LinearProbe] = field(default_factory=dict)  # (target, representation)

    def score(self, target: str, representation: str, metric: str) -> float:
        """One cross-validated score, e.g. ``score("exon", "raw", "auroc")``.

        Parameters
        ----------
        target, representation, metric
            Which row of ``table``.

        Returns
        -------
        float
            Its score.
        """
        t = self.table
        hit = t[(t.target == target) & (t.representation == representation) & (t.metric == metric)]
        if hit.empty:
            raise KeyError(f"no {metric} for {target!r} from {representation!r}")
        return float(hit["score"].iat[0])

    def write(self, out: PathLike) -> Path:
        """Write the result folder (see the module docstring); return it.

        Parameters
        ----------
        out
            Output folder (created).

        Returns
        -------
        pathlib.Path
            The folder.
        """
        root = Path(out)
        root.mkdir(parents=True, exist_ok=True)
        self.table.to_csv(root / "metrics.tsv", sep="\t", index=False)
        self.l1.to_csv(root / "l1_path.tsv", sep="\t", index=False)
        write_json(root / "summary.json", self.summary)
        for (target, rep), p in self.probes.items():
            save_probe(p, root / _safe(target) / rep)
        return root


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def read_probe_result(path: PathLike) -> ProbeResult:
    """Read a folder written by :meth:`ProbeResult.write` (tables, summary and probes)."""
    import json

    root = Path(path)
    probes = {}
    for cfg in sorted(root.glob("*/*/cfg.json")):
        p = load_probe(cfg.parent)
        probes[(p.target, p.representation)] = p
    return ProbeResult(pd.read_csv(root / "metrics.tsv", sep="\t"), pd.read_csv(root / "l1_path.tsv", sep="\t"),
                       json.loads((root / "summary.json").read_text()), probes)


def train_probes(
    rows: ProbeRows, *, config: ProbeConfig = ProbeConfig(), sae_info: Mapping[str, Any] | None = None
) -> ProbeResult:
    """Cross-validate every target from every representation of ``rows``, then fit each on all rows.

    Parameters
    ----------
    rows
        Inputs, targets and groups (:mod:`genolens.probes.probe_data`).
    config
        Folds, regularisation, bootstrap and L1 settings.
    sae_info
        Recorded in the SAE probes' ``cfg.json`` (the SAE's path and name).

    Returns
    -------
    ProbeResult
        Metrics of the probes and their shuffled-label controls on held-out groups, and the probes.
    """
    cv = cross_validate(rows.x, rows.targets, groups=rows.groups, config=config, l1_on=("sae",))
    probes = {}
    for target in rows.targets:
        for rep, x in rows.x.items():
            weight, bias = fit_linear(x, target, config=config)
            outputs = (target.classes[1],) if target.kind == "binary" else (target.classes or (target.name,))
            t = cv.table
            sel = t[(t.target == target.name) & (t.representation == rep)]
            probes[(target.name, rep)] = LinearProbe(
                target=target.name, kind=target.kind, outputs=outputs, weight=weight, bias=bias, level=rows.level,
                representation=rep, provenance=rows.provenance, threshold=config.threshold,
                sae=dict(sae_info or {}) if rep == "sae" else {}, metrics=dict(zip(sel.metric, sel.score, strict=True)),
            )
    summary = {"level": rows.level, "provenance": vars(rows.provenance), **rows.info, **cv.summary}
    return ProbeResult(cv.table, cv.l1, summary, probes)


def probe(
    data: PathLike | ad.AnnData,
    *,
    labels: PathLike | pd.DataFrame | None = None,
    targets: Sequence[str] = (),
    layer: int | None = None,
    sae: PathLike | None = None,
    id_column: str = "id",
    group_by: str | None = None,
    kind: str = "auto",
    contig_map: Mapping[str, str] | None = None,
    use_rep: str | None = None,
    config: ProbeConfig = ProbeConfig(),
    allow_partial: bool = False,
) -> ProbeResult:
    """Train linear probes on a store's layer (per base or per sequence) or on per-sample features.

    Parameters
    ----------
    data
        An activation store folder, or per-sample features (AnnData or ``.h5ad``).
    labels
        Store: an annotation (BED, GFF3/GTF or residue TSV: per-base probes, one per concept) or, with
        ``targets``, a CSV/TSV table (or DataFrame) keyed by sequence ID (per-sequence probes).
        AnnData: unused (``targets`` are ``obs`` columns).
    targets
        Per-sequence: table columns; per-sample: ``obs`` columns; per-base: the concepts to probe (default all).
    layer
        Store layer (default: the SAE's, or the store's only layer).
    sae
        SAE folder: also probe its features, on the same folds, with the L1 path.
    id_column
        Sequence ID column of the label table.
    group_by
        What stays in one fold: ``sequence``, ``region``, ``sample``, ``cluster`` (near-identical sequences),
        a table/``obs`` column; default region-or-sequence per base, cluster per sequence, sample per sample.
    kind
        ``auto``, ``classes`` or ``regression``.
    contig_map
        Store contig -> annotation contig (``{"22": "chr22"}``).
    use_rep
        Per sample: the ``obsm`` key to probe instead of ``X``.
    config
        Folds, regularisation, bootstrap, row cap and L1 settings.
    allow_partial
        Read an unfinished store.

    Returns
    -------
    ProbeResult
        ``table`` (target, representation: ``raw``/``sae``/``shuffled_*``, metric, score, CI, chance), ``l1``,
        ``summary`` and the fitted probes; ``.write(out)`` saves them.
    """
    if isinstance(data, ad.AnnData) or str(data).endswith(".h5ad"):
        from genolens.cohort.aggregate import read_features

        adata = data if isinstance(data, ad.AnnData) else read_features(data)
        return train_probes(sample_rows(adata, targets=targets, use_rep=use_rep, group_by=group_by, kind=kind),
                            config=config)
    from genolens.features.source import StoreSource, sae_source

    if sae is not None:
        model, source = sae_source(data, sae=sae, layer=layer, partial=allow_partial)
    else:
        model, source = None, StoreSource(data, layer=layer, partial=allow_partial)
    if model is not None:
        from genolens.adapters.fingerprint import weights_fingerprint

        sae_info = {"path": str(Path(sae).resolve()), "name": model.cfg.name, "d_sae": int(model.cfg.d_sae),
                    "weights_hash": weights_fingerprint(model)}  # the monitor refuses another SAE
    else:
        sae_info = {}
    if labels is None:
        raise ConfigError("give the labels: an annotation, or a table with --target columns")
    if targets and not str(labels).lower().removesuffix(".gz").endswith((".bed", ".gff", ".gff3", ".gtf")):
        table = labels if isinstance(labels, pd.DataFrame) else _read_table(labels, id_column=id_column)
        rows = sequence_rows(source, table, targets=targets, sae=model, group_by=group_by or "cluster", kind=kind)
    else:
        from genolens.features.concept_sets import read_concepts

        ids = set(source.sequences["id"].astype(str))
        concepts = read_concepts(labels, sequence_ids=ids, extents=source.ref_extents(), contig_map=contig_map)
        rows = base_rows(source, concepts, labels=targets, sae=model, group_by=group_by or "auto",
                         max_rows=config.max_rows, row_stride=config.row_stride, seed=config.seed)
    return train_probes(rows, config=config, sae_info=sae_info)


def _read_table(path: PathLike, *, id_column: str) -> pd.DataFrame:
    sep = "," if str(path).lower().removesuffix(".gz").endswith(".csv") else "\t"
    table = pd.read_csv(path, sep=sep, dtype={id_column: str})
    if id_column not in table.columns:
        raise ConfigError(f"the label table has no ID column {id_column!r}", path=path,
                          hint=f"columns: {list(table.columns)}; pass --id-column")
    if table[id_column].duplicated().any():
        dup = table[id_column][table[id_column].duplicated()].iat[0]
        raise ConfigError(f"sequence ID {dup!r} appears twice in the label table", path=path)
    return table.set_index(id_column)
