"""One self-contained HTML report of a whole run: SAE quality, dashboards, associations, audit.

The report reads what the stages wrote under a results folder (found by file
name, so any layout works): ``eval.json`` (+ ``eval.density.png``) of each SAE,
the feature dashboards' ``index.html``, each ``associate`` folder
(``associations.tsv``, ``associate.json``, ``qq.png``, ``volcano.png``), each
``audit`` folder (``audit.tsv``, ``audit.json``), each genotype-baseline folder (``baseline.tsv``,
``baseline.png``) and the sequence build reports.
Images are embedded as data URIs; dashboards are linked by relative path, so
the report opens from disk with no server and no network.
"""

from __future__ import annotations

import base64
import html
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from genolens import __version__
from genolens.io.gene_names import read_gene_names, with_name
from genolens.stats.plots import FAILED_FIT_R2

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:1100px;color:#222}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.6em 0;font-size:13px}
td,th{border:1px solid #ddd;padding:3px 7px;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}.muted{color:#777}
.cards{display:flex;flex-wrap:wrap;gap:1em}.card{border:1px solid #ddd;border-radius:6px;padding:.6em 1em;min-width:9em}
.card b{display:block;font-size:1.4em}img{max-width:100%;border:1px solid #eee}
.brief{font-size:15px;background:#f7f9fc;border-left:4px solid #4a78b5;padding:.2em 1em}
.biomarker_candidate{background:#e3f4e3}.ancestry_confounded{background:#fbe3e3}.both{background:#fff3d6}.unresolved{background:#eeeeee}
"""


def _img(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _table(df: pd.DataFrame, *, row_class: str | None = None, digits: int = 4) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    rows = []
    for _, r in df.iterrows():
        cls = f' class="{html.escape(str(r[row_class]))}"' if row_class and row_class in r else ""
        cells = "".join(
            f"<td>{v:.{digits}g}</td>" if isinstance(v, float) else f"<td>{html.escape(str(v))}</td>" for v in r
        )
        rows.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def _cards(items: dict[str, str]) -> str:
    return '<div class="cards">' + "".join(
        f'<div class="card"><span class="muted">{html.escape(k)}</span><b>{html.escape(v)}</b></div>'
        for k, v in items.items()
    ) + "</div>"


def _sae_section(path: Path, out_dir: Path) -> str:
    m = json.loads(path.read_text())
    cards = {
        "variance explained": f"{m['fve']:.3f}", "L0": f"{m['l0']:.1f}",
        "dead latents": f"{m['dead_fraction']:.1%}", "dense latents": f"{m['dense_fraction']:.1%}",
        "held-out tokens": f"{m['tokens']:,}",
    }
    if "loss_recovered" in m:
        lr = m["loss_recovered"]
        cards["loss recovered"] = f"{lr['recovered']:.3f}"
        cards["CE clean / SAE / zero"] = f"{lr['clean']:.3f} / {lr['spliced']:.3f} / {lr['zero_ablated']:.3f}"
    body = f"<h3>{html.escape(os.path.relpath(path.parent, out_dir))}</h3>" + _cards(cards)
    png = path.with_suffix(".density.png")
    if png.is_file():
        body += _img(png, "feature density")
    return body


def _associate_section(folder: Path, out_dir: Path, top: int) -> str:
    table = pd.read_csv(folder / "associations.tsv", sep="\t")
    body = f"<h3>{html.escape(os.path.relpath(folder, out_dir))}</h3>"
    summary_path = folder / "associate.json"
    if summary_path.is_file():
        summary = json.loads(summary_path.read_text())
        counts = table["category"].value_counts().to_dict() if "category" in table else {}
        cards = {k.replace("_", " "): str(v) for k, v in counts.items()}
        for key in ("lambda_gc", "lambda_gc_unadjusted"):
            if isinstance(summary.get(key), (int, float)):
                cards[key.replace("_", " ")] = f"{summary[key]:.3f}"
        body += _cards(cards)
    cols = [c for c in ("feature", "beta", "se", "pvalue", "qvalue", "n", "ancestry_r2", "pvalue_unadjusted",
                        "category") if c in table.columns]
    ranked = table.sort_values("pvalue", na_position="last").head(top)[cols]
    body += (f"<p class='muted'>Top {len(ranked)} of {len(table):,} features by p-value (ancestry-adjusted); beta and "
             "se per SD of the feature over the tested samples; features that barely vary are untestable (not "
             "fitted).</p>")
    body += _table(ranked, row_class="category")
    for name in ("qq.png", "volcano.png"):
        if (folder / name).is_file():
            body += _img(folder / name, name)
    return body


def _r2_text(value: float, low: float = float("nan"), high: float = float("nan")) -> str:
    """``R² [low, high]``, or "failed fit" for an R² below ``FAILED_FIT_R2`` (an extrapolation, not an estimate)."""
    if value < FAILED_FIT_R2:
        return f"failed fit (R² < {FAILED_FIT_R2})"
    return f"{value:.3f}" if np.isnan(low) else f"{value:.3f} [{low:.3f}, {high:.3f}]"


def _ci(table: pd.DataFrame, col: str) -> pd.Series:
    """``estimate [low, high]`` text of an R² column with bootstrap bounds; failed fits said as such (and the
    difference of two R² where either is one)."""
    nan = pd.Series(np.nan, index=table.index)
    low, high = table.get(f"{col}_low", nan), table.get(f"{col}_high", nan)
    failed = table[col] < FAILED_FIT_R2
    if col == "delta_r2":
        failed = (table["r2_features"] < FAILED_FIT_R2) | (table["r2_genotypes"] < FAILED_FIT_R2)
    text = ["n/a: failed fit" if f else _r2_text(v, lo, hi)
            for f, v, lo, hi in zip(failed, table[col], low, high, strict=True)]
    return pd.Series(text, index=table.index)


def _gene_story(table: pd.DataFrame, summary: dict, names: dict[str, str] | None = None) -> str:
    """One sentence per gene with a genotype cis-eQTL or a feature signal: do the features recover it?"""
    alpha = float(summary.get("alpha", 0.05))
    lines = []
    for _, row in table.iterrows():
        eqtl = row.get("eqtl_qval", float("nan")) < alpha
        feat = row.get("features_qval", float("nan")) < alpha
        if not (eqtl or feat):
            continue
        gen, fea = ("R² " + _r2_text(row[c], row.get(f"{c}_low", float("nan")), row.get(f"{c}_high", float("nan")))
                    for c in ("r2_genotypes", "r2_features"))
        if eqtl and feat:
            what = (f"has a genotype cis-eQTL (q = {row['eqtl_qval']:.2g}) and its features recover it: their own "
                    f"cis test q = {row['features_qval']:.2g} (best feature {row.get('features_category', '')})")
        elif eqtl:
            what = (f"has a genotype cis-eQTL (q = {row['eqtl_qval']:.2g}) that its features do not recover "
                    f"(their cis test q = {row.get('features_qval', float('nan')):.2g})")
        else:
            what = (f"has no genotype cis-eQTL at q < {alpha} (q = {row.get('eqtl_qval', float('nan')):.2g}), yet its "
                    f"features carry signal (cis test q = {row['features_qval']:.2g})")
        lines.append(f"<li><b>{html.escape(with_name(str(row['phenotype_id']), names))}</b> {html.escape(what)}; "
                     "predicted across "
                     f"people, genotypes {gen}, features {fea} (verdict: features {html.escape(row['verdict'])} "
                     "genotypes).</li>")
    if not lines:
        return f"<p>No gene has a genotype cis-eQTL or a feature signal at q &lt; {alpha}.</p>"
    return "<ul>" + "".join(lines) + "</ul>"


def _baseline_section(folder: Path, out_dir: Path, names: dict[str, str] | None = None) -> str:
    table = pd.read_csv(folder / "baseline.tsv", sep="\t")
    summary_path = folder / "baseline.json"
    summary = json.loads(summary_path.read_text()) if summary_path.is_file() else {}
    body = f"<h3>{html.escape(os.path.relpath(folder, out_dir))}</h3>"
    cards = {f"features {k} genotypes": str(v) for k, v in table["verdict"].value_counts().items()}
    for key, label in (("genes_with_eqtl", "genes with a genotype cis-eQTL"),
                       ("genes_features_and_genotypes", "recovered by the features"),
                       ("genes_only_genotypes", "only in the genotypes"),
                       ("genes_only_features", "only in the features")):
        if key in summary:
            cards[label] = str(len(summary[key]))
    body += _cards(cards)
    window = summary.get("config", {}).get("genotype_window")
    seen = ("the variants inside the gene's own feature windows (the bases the model read)"
            if isinstance(window, str)
            else f"the variants within {window} bp of the TSS" if window else "its cis variants")
    body += ("<p class='muted'>Per gene: expression predicted across people (cross-validated elastic net, identical "
             f"folds, 95% bootstrap intervals) from the gene's model features and from {html.escape(seen)}; the "
             "genotype cis-eQTL scan and the same cis test on the features (tensorQTL's permutation scheme, one "
             "beta-approximated p per gene, BH q across genes); the category of each gene's best feature. r: the "
             "across-individual correlation of predicted and observed expression (positive: the direction of "
             "variation between people is right).</p>")
    body += _gene_story(table, summary, names)
    shown = table.copy()
    shown["phenotype_id"] = [with_name(str(g), names) for g in shown["phenotype_id"]]
    for col in ("r2_features", "r2_genotypes", "delta_r2"):
        if col in shown.columns:
            shown[col] = _ci(table, col)
    # the columns a reader needs; the whole table is the TSV beside it
    cols = [c for c in ("phenotype_id", "r2_genotypes", "r2_features", "verdict", "eqtl_qval", "features_qval",
                        "features_category") if c in shown.columns]
    body += _table(shown[cols])
    link = html.escape(os.path.relpath(folder / "baseline.tsv", out_dir))
    body += (f"<p class='muted'>All {len(table.columns)} columns (Pearson r, the best variant and feature, their "
             f"effects, intervals): <a href=\"{link}\">{link}</a>.</p>")
    for name in ("baseline.png", "qq_genes.png"):
        if (folder / name).is_file():
            body += _img(folder / name, name)
    return body


def _perm_text(p: float, floor: float) -> str:
    """A permutation p-value, said to be at its floor when it is (no permutation was as extreme)."""
    if not np.isfinite(p):
        return "n/a"
    if np.isfinite(floor) and p <= floor * (1 + 1e-9):
        return f"≤ {floor:.2g} (floor: 1/(n+1), n = {round(1 / floor) - 1} permutations)"
    return f"{p:.2g}"


def _audit_section(folder: Path, out_dir: Path) -> str:
    body = f"<h3>{html.escape(os.path.relpath(folder, out_dir))}</h3>"
    if (folder / "audit.tsv").is_file():
        table = pd.read_csv(folder / "audit.tsv", sep="\t")
        if "perm_pvalue" in table.columns and "perm_pvalue_floor" in table.columns:
            floor = table["perm_pvalue_floor"]
            table["perm_pvalue"] = [_perm_text(p, f) for p, f in zip(table["perm_pvalue"], floor, strict=True)]
            table = table.drop(columns=["perm_pvalue_floor"])
            n = round(1 / float(floor.iloc[0])) - 1 if len(floor) else 0
            body += (f"<p class='muted'>Permutation p-values come from {n} permutations: none can be below "
                     f"1/(n+1) = {1 / (n + 1):.2g}, and one at that floor means no permutation scored as high, "
                     "not that the p-value is that small.</p>")
        body += _table(table)
    return body


def _in_brief(root: Path, names: dict[str, str] | None = None) -> str:
    """The answer first: two or three sentences from the baseline, the associations and the audit."""
    sentences = []
    for path in sorted(root.rglob("baseline.json")):
        summary = json.loads(path.read_text())
        table = pd.read_csv(path.with_name("baseline.tsv"), sep="\t")
        alpha = float(summary.get("alpha", 0.05))
        eqtl = summary.get("genes_with_eqtl", [])
        both = summary.get("genes_features_and_genotypes", [])
        only_features = summary.get("genes_only_features", [])
        verb = "has" if len(eqtl) == 1 else "have"
        text = (f"Of {len(table)} genes, {len(eqtl)} {verb} a genotype cis-eQTL in their windows (q < {alpha:g}); the "
                f"model's features recover {len(both)} of them (their own cis test q < {alpha:g})")
        text += f", and carry signal without a genotype eQTL for {len(only_features)} more." if only_features else "."
        ranked = table.dropna(subset=["eqtl_qval"]).sort_values("eqtl_qval") if "eqtl_qval" in table else table[:0]
        if len(ranked) and ranked["eqtl_qval"].iloc[0] < alpha:
            best = ranked.iloc[0]
            text += (f" The strongest eQTL gene is {with_name(str(best['phenotype_id']), names)} (q = "
                     f"{best['eqtl_qval']:.2g}): expression "
                     f"predicted across people from its genotypes with R² {_r2_text(best['r2_genotypes'])}, from its "
                     f"features {_r2_text(best['r2_features'])}.")
        sentences.append(text)
    for path in sorted(root.rglob("associations.tsv")):
        counts = pd.read_csv(path, sep="\t", usecols=["category"])["category"].value_counts()
        if counts.get("biomarker_candidate", 0) or counts.get("ancestry_confounded", 0):
            sentences.append(f"Association ({path.parent.name}): {counts.get('biomarker_candidate', 0)} candidate "
                             f"biomarkers, {counts.get('ancestry_confounded', 0)} ancestry confounds, "
                             f"{counts.get('unresolved', 0)} unresolved of {int(counts.sum()):,} features.")
    for path in sorted(root.rglob("audit.tsv")):
        audit = pd.read_csv(path, sep="\t")
        rows = audit[audit["metric"].isin(["balanced_accuracy", "r2"])]
        if len(rows):
            row = rows.iloc[0]
            nan = float("nan")
            floor = float(row.get("perm_pvalue_floor", nan))
            interval = (f" [{row['ci_low']:.2f}, {row['ci_high']:.2f}]" if {"ci_low", "ci_high"} <= set(row.index)
                        else "")
            sentences.append(
                f"Ancestry leaks into the features: a cross-validated probe reads {row['target']} at "
                f"{row['metric'].replace('_', ' ')} {row['score']:.2f}{interval} (chance {row.get('chance', nan):.2f}; "
                f"permutation p {_perm_text(float(row.get('perm_pvalue', nan)), floor)}).")
    if not sentences:
        return ""
    return "<div class='brief'>" + "".join(f"<p>{html.escape(s)}</p>" for s in sentences) + "</div>"


def _kinship_section(path: Path) -> str:
    """What the kinship estimate rests on, the pairs it lists, and what (if anything) was removed."""
    data = json.loads(path.read_text())
    removed = data.get("removed")
    text = (f"KING-robust kinship (plink2's estimator) of {data.get('n_samples')} samples from "
            f"{data.get('n_variants', 0):,} biallelic SNVs (MAF ≥ {data.get('min_maf')}) of "
            f"{os.path.basename(str(data.get('vcf', '')))}: {data.get('n_pairs_above_cutoff')} pairs above "
            f"{data.get('cutoff')} ({', '.join(f'{k} {v}' for k, v in data.get('pairs_by_degree', {}).items())}). ")
    if not data.get("trustworthy", False):
        text += (f"Fewer than {data.get('min_variants_to_trust', 0):,} variants: too few to call relatives, so these "
                 "pairs are a screen, not relatives. ")
    text += (f"Removed: {len(removed)} samples (one of each related pair)." if removed
             else "No sample was removed; the association, cis and baseline steps used every sample.")
    return f"<p>{html.escape(text)}</p>"


def _builds_section(builds: list[Path], root: Path) -> str:
    """Per sequences report: windows requested / used / trimmed / skipped for N, distinct sequences, variants."""
    rows, notes = [], []
    for p in builds:
        data = json.loads(p.read_text())
        row = {"file": str(p.relative_to(root)), "sequences": data.get("sequences", "")}
        windows = data.get("windows") or {}
        if windows:
            row.update({"windows requested": windows.get("windows_requested"),
                        "windows used": windows.get("windows_used"),
                        **{f"windows {k.replace('_', ' ')}": v for k, v in windows.get("counts", {}).items()}})
            policy = windows.get("policy", {})
            skipped = sum(v for k, v in windows.get("counts", {}).items() if k.startswith("skipped"))
            trimmed = windows.get("counts", {}).get("trimmed", 0)
            if skipped or trimmed:
                notes.append(f"{html.escape(row['file'])}: reference N in {skipped + trimmed} of "
                             f"{windows.get('windows_requested')} windows: {trimmed} trimmed to their longest N-free "
                             f"stretch, {skipped} skipped (N policy {html.escape(str(policy.get('action')))}, "
                             f"shortest kept {policy.get('min_length')} bases); no N base was embedded.")
        distinct = data.get("distinct")
        if distinct:
            row["haplotypes"] = distinct.get("haplotypes")
            row["distinct sequences embedded"] = distinct.get("sequences")
        row.update(data.get("counts", {}))
        rows.append(row)
    body = "".join(f"<p>{n}</p>" for n in notes)
    return body + _table(pd.DataFrame(rows).fillna(0))


def write_run_report(results: str | os.PathLike[str], out: str | os.PathLike[str], *, top: int = 20,
                     gene_names: dict[str, str] | str | os.PathLike[str] | None = None) -> Path:
    """Write ``out`` (HTML) summarising everything found under ``results``, opening with the answer in words.

    Parameters
    ----------
    results
        A run's results folder (searched for each stage's outputs by file name).
    out
        The HTML file.
    top
        Rows of the top-association tables.
    gene_names
        ``{gene_id: name}``, or a TSV of them (:func:`genolens.io.gene_names.read_gene_names`): genes shown as
        ``NAME (ID)``.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    root, out = Path(results), Path(out)
    if gene_names is not None and not isinstance(gene_names, dict):
        gene_names = read_gene_names(gene_names)
    out.parent.mkdir(parents=True, exist_ok=True)
    sections: list[tuple[str, str]] = []
    evals = sorted(root.rglob("eval.json"))
    if evals:
        sections.append(("Sparse autoencoders", "".join(_sae_section(p, out.parent) for p in evals)))
    dashboards = sorted(p for p in root.rglob("index.html") if p.resolve() != out.resolve())
    if dashboards:
        links = "".join(
            f'<li><a href="{html.escape(os.path.relpath(p, out.parent))}">'
            f"{html.escape(str(p.parent.relative_to(root)))}</a></li>"
            for p in dashboards
        )
        sections.append(("Feature dashboards", f"<ul>{links}</ul>"))
    assoc = sorted(p.parent for p in root.rglob("associations.tsv"))
    if assoc:
        sections.append(("Associations: biomarkers and ancestry confounds",
                         "".join(_associate_section(f, out.parent, top) for f in assoc)))
    baselines = sorted(p.parent for p in root.rglob("baseline.tsv"))
    if baselines:
        sections.append(("Genotype baseline: model features against cis genotypes",
                         "".join(_baseline_section(f, out.parent, gene_names) for f in baselines)))
    audits = sorted(p.parent for p in root.rglob("audit.tsv"))
    if audits:
        audit_html = "".join(_audit_section(f, out.parent) for f in audits)
        sections.append(("Embedding audit: how much ancestry leaks", audit_html))
    kinships = sorted(root.rglob("*.king.json"))
    if kinships:
        sections.append(("Relatedness", "".join(_kinship_section(p) for p in kinships)))
    builds = sorted(root.rglob("*.report.json"))
    if builds:
        sections.append(("Sequences, windows and variants", _builds_section(builds, root)))
    if not sections:
        sections.append(("Nothing found", f"<p>No genolens outputs under {html.escape(str(root))}.</p>"))
    brief = _in_brief(root, gene_names)
    if brief:
        sections.insert(0, ("In brief", brief))
    toc = "".join(f'<li><a href="#s{i}">{html.escape(t)}</a></li>' for i, (t, _) in enumerate(sections))
    body = "".join(f'<h2 id="s{i}">{html.escape(t)}</h2>{b}' for i, (t, b) in enumerate(sections))
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>genolens report</title><style>{CSS}</style>"
            f"</head><body><h1>genolens report</h1><p class='muted'>{html.escape(str(root))} · genolens {__version__}"
            f"</p><ul>{toc}</ul>{body}</body></html>")
    out.write_text(page, encoding="utf-8")
    return out
