"""The output folder of ``genolens variant-effects``: tables, a VCF with the scores, and static pages.

::

    variant_effects.tsv     one row per scored variant allele (score and method, distances, top features)
    skipped.tsv             variant alleles (or records) not scored, with the reason
    variant_effects.vcf.gz  the same rows as a sites-only VCF (INFO fields declared in the header;
                            skipped variants carry GL_SKIP), bgzipped, with its .tbi index
    deltas.npz              [variants, d_sae] feature changes (delta_variant, delta_window) and the ranking scale
    tracks.npz              per variant, the top features' per-base codes over both windows
    variant_effects.json    format, model, layer, SAE, settings and counts
    index.html, variants/   an index of the variants and one page per variant (up to ``max_pages``)

:func:`read_variant_effects` reads the folder back as a
:class:`~genolens.interventions.variant_effects.VariantEffects`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from genolens import __version__
from genolens.errors import ConfigError
from genolens.features.results import AnnotationResults
from genolens.interventions.variant_effects import VariantEffects, VariantTracks, label_text
from genolens.io.files import output_folder
from genolens.io.runfolder import read_header, write_header
from genolens.io.vcf_write import InfoField, SiteRecord, write_sites_vcf
from genolens.report.figures import shaded_sequence
from genolens.report.html import esc, fmt, img, page, table

FORMAT = "genolens-variant-effects"
FORMAT_VERSION = "0.1.0"
PAGE_DIR = "variants"
PathLike = str | os.PathLike[str]

INFO_FIELDS = (
    InfoField("GL_SCORE", "Float", "Zero-shot score of the ALT allele against REF (method in GL_METHOD)"),
    InfoField("GL_METHOD", "String", "Scoring method: llr, masked_marginal or pll_span"),
    InfoField("GL_COS", "Float", "Cosine distance (1 - cos) between the mean activations of the two windows"),
    InfoField("GL_L2", "Float", "L2 distance between the mean activations of the two windows"),
    InfoField("GL_TOP", "Integer", "SAE feature the variant moves most"),
    InfoField("GL_TOP_DELTA", "Float", "Its change (ranking units, see variant_effects.json)"),
    InfoField("GL_TOP_LABEL", "String", "Its label: best concept (F1) / best JASPAR match"),
    InfoField("GL_GAINED", "String", "Top gained features, feature:change separated by |"),
    InfoField("GL_LOST", "String", "Top lost features, feature:change separated by |"),
    InfoField("GL_SKIP", "String", "Why the allele was not scored"),
)


def _page_href(i: int, *, prefix: str = "") -> str:
    return f"{prefix}{PAGE_DIR}/variant_{i}.html"


def _site(variant: str) -> tuple[str, int, str, tuple[str, ...]]:
    contig, pos, alleles = variant.rsplit(":", 2)
    ref, alts = alleles.split(">", 1)
    return contig, int(pos), ref, tuple(alts.split(","))


def _vcf_records(result: VariantEffects) -> list[SiteRecord]:
    records = []
    has_sae = "top_feature" in result.table.columns
    for row in result.table.itertuples(index=False):
        info: dict[str, object] = {"GL_SCORE": float(row.score), "GL_METHOD": row.method,
                                   "GL_COS": float(row.cosine_distance), "GL_L2": float(row.l2_distance)}
        if has_sae:
            info.update({"GL_TOP": int(row.top_feature), "GL_TOP_DELTA": float(row.top_delta),
                         "GL_TOP_LABEL": row.top_label, "GL_GAINED": row.top_gained.replace(";", "|"),
                         "GL_LOST": row.top_lost.replace(";", "|")})
        records.append(SiteRecord(row.contig, int(row.pos), row.ref, (row.alt,), _field(row.id), info,
                                  _filters(getattr(row, "filter", "."))))
    for row in result.skipped.itertuples(index=False):
        contig, pos, ref, alts = _site(row.variant)
        end = getattr(row, "end", -1)
        records.append(SiteRecord(contig, pos, ref, alts, _field(getattr(row, "id", ".")), {"GL_SKIP": row.reason},
                                  _filters(getattr(row, "filter", ".")), int(end) if end and end > 0 else None))
    return records


def _field(value: object) -> str | None:
    """A VCF text field as read back from a table: None where it was ``.`` or empty."""
    return None if value is None or pd.isna(value) or str(value) in (".", "") else str(value)


def _filters(value: object) -> tuple[str, ...]:
    text = _field(value)
    return () if text is None else tuple(text.split(";"))


def _tracks_npz(tracks: list[VariantTracks]) -> dict[str, np.ndarray]:
    counts = np.array([len(t.features) for t in tracks], dtype=np.int64)
    width = max((t.ref.shape[1] for t in tracks), default=0)

    def stack(name: str) -> np.ndarray:
        parts = [getattr(t, name) for t in tracks if len(t.features)]
        return np.concatenate(parts).astype(np.float32) if parts else np.zeros((0, width), np.float32)

    return {
        "counts": counts, "features": np.concatenate([t.features for t in tracks]).astype(np.int64)
        if tracks else np.zeros(0, np.int64),
        "ref": stack("ref"), "alt": stack("alt"),
        "ref_sequence": np.array([t.ref_sequence for t in tracks], dtype=str),
        "alt_sequence": np.array([t.alt_sequence for t in tracks], dtype=str),
        "alleles": np.array([(t.offset, t.ref_len, t.alt_len) for t in tracks], dtype=np.int64).reshape(-1, 3),
    }


def _tracks_from_npz(data: dict[str, np.ndarray]) -> list[VariantTracks]:
    out, at = [], 0
    for i, n in enumerate(data["counts"]):
        n = int(n)
        offset, ref_len, alt_len = (int(x) for x in data["alleles"][i])
        out.append(VariantTracks(data["features"][at : at + n], data["ref"][at : at + n], data["alt"][at : at + n],
                                 str(data["ref_sequence"][i]), str(data["alt_sequence"][i]), offset, ref_len,
                                 alt_len))
        at += n
    return out


def write_variant_effects(
    result: VariantEffects,
    *,
    out: PathLike,
    annotation: AnnotationResults | None = None,
    max_pages: int = 200,
) -> Path:
    """Write ``result`` as the folder described in the module docstring.

    Parameters
    ----------
    result
        From :func:`genolens.interventions.variant_effects.variant_effects`.
    out
        Output folder (created).
    annotation
        The annotation folder the labels came from: its logos go on the variant pages.
    max_pages
        Variant pages written (the variants with the largest absolute score first); 0 writes none.

    Returns
    -------
    Path
        The folder.
    """
    if max_pages < 0:
        raise ConfigError(f"max_pages must be >= 0, got {max_pages}")
    root = output_folder(out)
    result.table.to_csv(root / "variant_effects.tsv", sep="\t", index=False)
    result.skipped.to_csv(root / "skipped.tsv", sep="\t", index=False)
    contigs = dict(result.meta.get("contigs") or {})
    for contig in result.skipped["variant"].map(lambda v: _site(v)[0]):  # records on contigs the reference lacks
        contigs.setdefault(contig, 0)
    write_sites_vcf(root / "variant_effects.vcf.gz", _vcf_records(result), contigs=contigs, info=INFO_FIELDS,
                    source=f"genolens {__version__} variant-effects",
                    meta={"genolens_model": result.meta.get("model", ""), "genolens_layer": result.meta.get("layer")})
    if result.delta_variant is not None:
        np.savez_compressed(root / "deltas.npz", delta_variant=result.delta_variant, delta_window=result.delta_window,
                            scale=result.scale)
        np.savez_compressed(root / "tracks.npz", **_tracks_npz(result.tracks))
    write_header(root / "variant_effects.json", encoding=FORMAT, version=FORMAT_VERSION, **result.meta)
    pages = _page_rows(result, max_pages)
    (root / PAGE_DIR).mkdir(exist_ok=True)
    for i in pages:
        (root / PAGE_DIR / f"variant_{i}.html").write_text(variant_html(result, row=i, annotation=annotation),
                                                            encoding="utf-8")
    (root / "index.html").write_text(index_html(result, pages=pages), encoding="utf-8")
    return root


def _page_rows(result: VariantEffects, max_pages: int) -> list[int]:
    order = np.argsort(-np.abs(result.table["score"].to_numpy(dtype=np.float64)), kind="stable")
    return sorted(int(i) for i in order[:max_pages])


def _header(result: VariantEffects, title: str) -> str:
    m = result.meta
    sae = f"; SAE {esc(m['sae'])} ({fmt(int(m['d_sae']))} features)" if m.get("sae") else ""
    return (f"<h1>{esc(title)}</h1><p class=\"meta\">model {esc(m.get('model'))} ({esc(m.get('objective'))}), "
            f"layer {esc(m.get('layer'))}{sae}; window {esc(m.get('config', {}).get('width'))} bases; "
            f"genolens {esc(__version__)}</p>")


def index_html(result: VariantEffects, *, pages: list[int]) -> str:
    """The index page: every scored variant (linked when it has a page) and every skipped one.

    Parameters
    ----------
    result
        The variant effects.
    pages
        Rows of ``result.table`` that have a page.

    Returns
    -------
    str
        The HTML document.
    """
    with_page = set(pages)
    frame = result.table.copy()
    frame.insert(0, "row", range(len(frame)))
    hrefs = {v: _page_href(i) for i, v in enumerate(frame["variant"]) if i in with_page}
    link = {"variant": lambda v: hrefs.get(v)}
    body = [_header(result, "genolens variant effects"),
            f"<p>{fmt(len(frame))} variant alleles scored ({esc(_methods(result))}), "
            f"{fmt(len(result.skipped))} skipped; {fmt(len(pages))} have a page.</p>",
            "<h2>Variants</h2><p class=\"meta\">score: llr = log p(alt window) - log p(ref window) (causal); "
            "masked_marginal = log p(alt) - log p(ref) at the masked changed tokens; pll_span = "
            "pseudo-log-likelihood of the changed span, alt - ref. Distances between the windows' mean "
            "activations.</p>",
            table(frame.drop(columns=["row"]), links=link)]
    if not result.skipped.empty:
        body += ["<h2>Skipped</h2>", table(result.skipped)]
    return page("genolens variant effects", body="".join(body))


def _methods(result: VariantEffects) -> str:
    counts = result.table["method"].value_counts()
    return ", ".join(f"{k}: {int(v)}" for k, v in counts.items()) or "none"


def _track_rows(tracks: VariantTracks, result: VariantEffects, row: int, annotation: AnnotationResults | None) -> str:
    ranking = result.delta_variant if result.meta.get("ranked_by", "variant") == "variant" else result.delta_window
    rows = []
    for k, f in enumerate(tracks.features):
        f = int(f)
        scale = float(max(tracks.ref[k].max(), tracks.alt[k].max(), 1e-9))
        change = float(ranking[row, f] / result.scale[f])
        logo = annotation.logo_png(f) if annotation is not None else None
        rows.append(
            f"<tr><td class=\"num\">{f}</td><td class=\"num\">{fmt(change)}</td>"
            f"<td>{esc(label_text(result.labels, f))}</td>"
            f"<td>ref {shaded_sequence(tracks.ref_sequence, values=tracks.ref[k], scale=scale, peak=tracks.offset)}"
            f"<br>alt {shaded_sequence(tracks.alt_sequence, values=tracks.alt[k], scale=scale, peak=tracks.offset)}"
            f"</td><td>{img(logo, alt=f'logo of feature {f}') if logo else ''}</td></tr>"
        )
    head = "".join(f"<th>{h}</th>" for h in ("feature", "change", "label", "codes over the windows", "logo"))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def variant_html(result: VariantEffects, *, row: int, annotation: AnnotationResults | None = None) -> str:
    """One variant's page: its scores, and the top gained and lost features over both windows.

    Parameters
    ----------
    result
        The variant effects.
    row
        Row of ``result.table``.
    annotation
        Annotation folder whose logos are shown, or None.

    Returns
    -------
    str
        The HTML document.
    """
    rec = result.table.iloc[row]
    body = ['<p><a href="../index.html">&larr; index</a></p>', _header(result, f"Variant {rec['variant']}")]
    body.append(
        f"<div class=\"grid\"><div class=\"card\"><b>{esc(rec['kind'])}</b> {esc(rec['contig'])}:"
        f"{fmt(int(rec['pos']))} {esc(rec['ref'])}&gt;{esc(rec['alt'])} (ID {esc(rec['id'])})<br>"
        f"<b>{esc(rec['method'])}</b> {fmt(float(rec['score']))}<br><b>cosine distance</b> "
        f"{fmt(float(rec['cosine_distance']))}, <b>L2</b> {fmt(float(rec['l2_distance']))}</div></div>"
    )
    if result.tracks:
        unit = "relative to each feature's maximum" if result.meta.get("relative") else "raw"
        body.append(f"<h2>Features moved most</h2><p class=\"meta\">gained first, then lost; change at the "
                    f"{esc(result.meta.get('ranked_by'))} level ({unit}). Shading: codes per base in the reference "
                    "and alternate windows (same scale per feature); outlined: the allele's first base.</p>")
        body.append(_track_rows(result.tracks[row], result, row, annotation))
    return page(f"variant {rec['variant']}", body="".join(body))


def read_variant_effects(path: PathLike) -> VariantEffects:
    """Read a folder written by :func:`write_variant_effects`.

    Parameters
    ----------
    path
        The folder.

    Returns
    -------
    VariantEffects
        Table, skipped variants, metadata, and (with an SAE) the feature changes and tracks.
    """
    root = Path(path)
    meta = read_header(root / "variant_effects.json", encoding=FORMAT, command="variant-effects")
    table_ = pd.read_csv(root / "variant_effects.tsv", sep="\t", keep_default_na=False,
                         na_values={"score": [""], "cosine_distance": [""], "l2_distance": [""]})
    skipped = pd.read_csv(root / "skipped.tsv", sep="\t", keep_default_na=False)
    d_var = d_win = scale = None
    tracks: list[VariantTracks] = []
    if (root / "deltas.npz").is_file():
        with np.load(root / "deltas.npz") as data:
            d_var, d_win, scale = data["delta_variant"], data["delta_window"], data["scale"]
        with np.load(root / "tracks.npz") as data:
            tracks = _tracks_from_npz({k: data[k] for k in data.files})
    return VariantEffects(table_, skipped, meta, d_var, d_win, tracks, None, scale)
