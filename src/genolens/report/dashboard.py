"""Static, self-contained HTML dashboard of an annotation folder: an index page and one page per feature.

``index.html`` lists every feature that fired (frequency, mean, max, best
concept with its held-out F1 and the instances it rests on, best JASPAR match) and
the best feature of every concept (concepts with too few held-out instances listed
apart, unranked); ``features/feature_<i>.html`` shows a feature's activation
histogram, its logo (drawn here, for the pages written only), JASPAR matches, best
concepts and top contexts (distinct loci, with the number of sequences carrying
each) with per-base activation shading and, with an ablation table (``genolens ablate``), the model's loss
change when the feature is removed, where it fires and elsewhere. An empirical motif p-value at the floor
of its null reads "< floor". Pages hold no script and load nothing: images are base64
data URIs, figures inline SVG, styles inline.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from genolens.errors import ConfigError, InputFileError
from genolens.features.results import AnnotationResults, read_results
from genolens.report.figures import histogram_svg, shaded_sequence
from genolens.report.html import esc, fmt, img, page, table
from genolens.report.interventions import read_ablation

FEATURE_DIR = "features"


def _feature_href(feature: object, *, prefix: str = "") -> str:
    return f"{prefix}{FEATURE_DIR}/feature_{int(feature)}.html"


def _floored(frame: pd.DataFrame, *, p: str = "p_empirical", floor: str = "p_floor") -> pd.DataFrame:
    """A copy where an empirical p-value at its null's floor reads ``< floor`` (it is no exact value)."""
    if p not in frame.columns or floor not in frame.columns:
        return frame
    out = frame.copy()
    out[p] = [
        "" if pd.isna(v) else (f"< {fmt(float(f))}" if float(v) <= float(f) * (1 + 1e-9) else fmt(float(v)))
        for v, f in zip(frame[p], frame[floor], strict=True)
    ]
    return out


def _ok(frame: pd.DataFrame) -> pd.Series:
    """Rows whose concept has enough held-out instances (all rows of a folder without a status column)."""
    return frame["status"] == "ok" if "status" in frame.columns else pd.Series(True, index=frame.index)


def page_features(results: AnnotationResults, *, max_pages: int) -> list[int]:
    """Features that get a page: every best feature of a concept and every feature with a motif match,
    then the most frequently firing ones, up to ``max_pages`` in all (features that never fire get none)."""
    table_ = results.features
    alive = table_[table_["n_active"] > 0]
    chosen: list[int] = []
    if results.best_features is not None and not results.best_features.empty:
        bf = results.best_features[_ok(results.best_features)]
        chosen += [int(f) for f in bf.sort_values("f1_select", ascending=False)["feature"]]
    if "motif_score" in alive.columns:
        chosen += [int(f) for f in alive.dropna(subset=["motif_score"]).sort_values(
            "motif_score", ascending=False)["feature"]]
    chosen += [int(f) for f in alive.sort_values("n_active", ascending=False)["feature"]]
    alive_set = set(alive["feature"].astype(int))
    seen: list[int] = []
    for f in chosen:
        if len(seen) >= max_pages:
            break
        if f in alive_set and f not in seen:
            seen.append(f)
    return sorted(seen)


def _header(results: AnnotationResults, title: str) -> str:
    m = results.meta
    return (
        f"<h1>{esc(title)}</h1><p class=\"meta\">model {esc(m.get('model'))}, layer {esc(m.get('layer'))}; "
        f"SAE {esc(m['sae']['name'])} ({fmt(int(m['d_sae']))} features); {fmt(int(m['n_rows']))} rows; "
        f"genolens {esc(m.get('genolens_version'))}</p>"
    )


def index_html(results: AnnotationResults, *, pages: list[int]) -> str:
    """The index page."""
    feats = results.features
    alive = feats[feats["n_active"] > 0]
    with_page = set(pages)
    body = [_header(results, "genolens feature dashboard")]
    dead = int((feats["n_active"] == 0).sum())
    body.append(f"<p>{fmt(len(alive))} features fired, {fmt(dead)} never did; {fmt(len(pages))} have a page.</p>")
    link = {"feature": lambda f: _feature_href(f) if int(f) in with_page else None}
    if results.best_features is not None and not results.best_features.empty:
        all_bf = results.best_features
        bf = all_bf[_ok(all_bf)].sort_values("f1_test", ascending=False)
        few = all_bf[~_ok(all_bf)]
        minimum = results.meta.get("config", {}).get("alignment", {}).get("min_test_instances")
        body.append("<h2>Best feature per concept</h2><p class=\"meta\">feature and threshold chosen on the "
                    "select split; precision, recall and F1 on the held-out test split, with the instances each "
                    "split holds.</p>")
        body.append(table(bf, columns=["concept", "feature", "threshold", "f1_select", "f1_test", "precision_test",
                                       "recall_test", "instances_select", "instances_test"], links=link))
        if not few.empty:
            body.append(f"<h3>Too few instances (not ranked)</h3><p class=\"meta\">fewer than {esc(minimum)} "
                        "held-out instances: their F1 rests on too little to rank.</p>")
            body.append(table(few, columns=["concept", "feature", "f1_select", "f1_test", "instances_select",
                                            "instances_test", "status"], links=link))
    columns = ["feature", "n_active", "frequency", "mean_active", "max", "concept", "concept_f1_test",
               "concept_instances_test", "concept_status", "motif_name", "motif_matrix_id", "motif_score",
               "motif_p_value", "motif_e_value", "motif_p_empirical"]
    order = _floored(alive.sort_values("n_active", ascending=False), p="motif_p_empirical", floor="motif_p_floor")
    body.append("<h2>Features</h2><p class=\"meta\">motif p: Gumbel fit to the shuffled-query null; E: p x "
                "database motifs; empirical p from the shuffles themselves (\"&lt; floor\" when no shuffle "
                "reached the score).</p>")
    body.append(table(order, columns=columns, links=link))
    return page("genolens feature dashboard", body="".join(body))


def _contexts_html(results: AnnotationResults, *, feature: int) -> str:
    ctx = results.contexts[results.contexts["feature"] == feature]
    if ctx.empty:
        return '<p class="muted">no contexts</p>'
    scale = float(ctx["activation"].max())
    rows = []
    for rec in ctx.itertuples(index=False):
        peak = int(rec.position) - int(rec.window_start)
        ref = f"{esc(rec.contig)}:{int(rec.ref_pos) + 1:,}" if int(rec.ref_pos) >= 0 and rec.contig else ""
        carriers = fmt(int(rec.n_sequences)) if hasattr(rec, "n_sequences") else ""
        if getattr(rec, "n_identical", -1) >= 0:
            carriers += f" ({fmt(int(rec.n_identical))} identical)"
        rows.append(
            f"<tr><td class=\"num\">{int(rec.rank) + 1}</td><td class=\"num\">{fmt(rec.activation)}</td>"
            f"<td class=\"num\">{carriers}</td><td>{esc(rec.sequence_id)}</td>"
            f"<td class=\"num\">{int(rec.position) + 1:,}</td><td>{ref}</td>"
            f"<td>{shaded_sequence(rec.bases, values=rec.base_activations, scale=scale, peak=peak)}</td></tr>"
        )
    head = "".join(f"<th>{h}</th>" for h in ("#", "activation", "sequences", "sequence", "position", "reference",
                                              "context"))
    head = f"<tr>{head}</tr>"
    return f"<table><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"


def _ablation_html(ablation: pd.DataFrame | None, *, feature: int) -> str:
    """The ablation card of a feature's page (empty without a table; a note when the feature was not ablated)."""
    if ablation is None:
        return ""
    rows = ablation[ablation["feature"] == feature]
    head = ("<h2>Ablation effect</h2><p class=\"meta\">the model's loss change (nats per scored token, ablated "
            "minus clean) with this feature zeroed in the SAE's reconstruction and the SAE's error term kept; "
            "positive: the model needed it. Split by whether the feature fired at the scored token.</p>")
    if rows.empty:
        return head + '<p class="muted">not ablated</p>'
    r = rows.iloc[0]

    def cell(name: str) -> str:
        return fmt(float(r[name])) if name in r and pd.notna(r[name]) else "&ndash;"

    return head + (
        "<div class=\"card\">"
        f"<b>where it fires</b> {cell('delta_fired')} (|change| {cell('abs_fired')}; {fmt(int(r['n_fired']))} "
        f"positions)<br><b>elsewhere</b> {cell('delta_elsewhere')} (|change| {cell('abs_elsewhere')}; "
        f"{fmt(int(r['n_elsewhere']))} positions)<br><b>overall</b> {cell('delta_loss')}"
        f"<br><b>clean loss where it fires</b> {cell('clean_loss_fired')} (elsewhere {cell('clean_loss_elsewhere')})"
        "</div>")


def feature_html(results: AnnotationResults, *, feature: int, ablation: pd.DataFrame | None = None) -> str:
    """One feature's page (with its ablation effect when ``ablation`` is given)."""
    row = results.features[results.features["feature"] == feature].iloc[0]
    body = ['<p><a href="../index.html">&larr; index</a></p>', _header(results, f"Feature {feature}")]
    stats = (f"<div class=\"card\"><b>fires on</b> {fmt(int(row['n_active']))} rows "
             f"({fmt(float(row['frequency']))})<br><b>mean</b> {fmt(float(row['mean']))} "
             f"(<b>when active</b> {fmt(float(row['mean_active']))})<br><b>max</b> {fmt(float(row['max']))}</div>")
    svg = histogram_svg(results.hist[feature], edges=results.hist_edges)
    hist = f"<div class=\"card\"><b>activation histogram</b> (non-zero rows)<br>{svg}</div>"
    logo = ""
    png = results.logo_png(feature)
    if png is not None:
        logo = (f"<div class=\"card\"><b>logo of the distinct top windows</b> (position 0: activating base; "
                f"shaded: trimmed motif)<br>{img(png, alt=f'logo of feature {feature}')}</div>")
    body.append(f"<div class=\"grid\">{stats}{hist}{logo}</div>")
    body.append(_ablation_html(ablation, feature=feature))
    if results.motifs is not None and not results.motifs.empty:
        m = results.motifs[results.motifs["feature"] == feature]
        if not m.empty:
            n_win = f"{fmt(int(m['n_windows'].iloc[0]))} distinct windows; " if "n_windows" in m.columns else ""
            body.append(f"<h2>JASPAR matches</h2><p class=\"meta\">{n_win}sum of column Pearson correlations over "
                        "the best offset and strand; z, p (Gumbel fit) and empirical p against the same query with "
                        "shuffled columns; E = p x database motifs.</p>")
            body.append(table(_floored(m), columns=["rank", "matrix_id", "name", "score", "z", "p_value", "e_value",
                                                    "p_empirical", "strand", "offset", "overlap", "length"]))
    if results.alignment is not None:
        body.append("<h2>Best concepts</h2><p class=\"meta\">threshold chosen on the select split; scores on "
                    "the held-out split.</p>")
        body.append(table(results.alignment.feature_concepts(feature, top=5)))
    body.append("<h2>Top activating contexts</h2><p class=\"meta\">distinct loci: the haplotypes of many people "
                "over one reference position count once (the highest shown); <i>sequences</i>: how many stored "
                "sequences cover the locus (how many of them carry exactly the bases shown).</p>")
    body.append(_contexts_html(results, feature=feature))
    return page(f"feature {feature}", body="".join(body))


def write_dashboard(results: AnnotationResults, *, out: str | Path, max_pages: int = 500,
                    ablation: pd.DataFrame | None = None) -> Path:
    """Write ``index.html`` and the feature pages under ``out``; returns the index path.

    ``ablation``: a ``genolens ablate`` table of the same SAE, shown on the feature pages.
    """
    if max_pages < 0:
        raise ConfigError(f"max_pages must be >= 0, got {max_pages}")
    root = Path(out)
    if root.exists() and not root.is_dir():
        raise InputFileError("output path exists and is not a folder", path=root)
    (root / FEATURE_DIR).mkdir(parents=True, exist_ok=True)
    pages = page_features(results, max_pages=max_pages)
    for f in pages:
        (root / FEATURE_DIR / f"feature_{f}.html").write_text(feature_html(results, feature=f, ablation=ablation),
                                                              encoding="utf-8")
    index = root / "index.html"
    index.write_text(index_html(results, pages=pages), encoding="utf-8")
    return index


def build_dashboard(annotations: str | Path, *, out: str | Path, max_pages: int = 500,
                    ablation: str | Path | None = None) -> Path:
    """Read an annotation folder (and an ablation table) and write its dashboard (see :func:`write_dashboard`).

    An ablation of another SAE than the annotation's is refused (its ``ablation.json`` beside the table names it).
    """
    results = read_results(annotations)
    table = None
    if ablation is not None:
        read = read_ablation(ablation)
        name = results.meta.get("sae", {}).get("name")
        if name and read.meta.get("sae") and read.meta["sae"] != name:
            raise ConfigError(f"the ablation table is of SAE {read.meta['sae']!r}, the annotation of {name!r}",
                              path=ablation)
        table = read.table
    return write_dashboard(results, out=out, max_pages=max_pages, ablation=table)

