"""The variant-effects folder: TSV, skipped list, bgzipped indexed VCF with declared INFO, pages; CLI and gl.tl."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pandas as pd
import pysam
import pytest
from test_variant_effects import LENGTH, SEQ, WIDTH, snv, write_reference, write_vcf
from tiny_models import make_hyena

import genolens as gl
from genolens.adapters.registry import load_adapter
from genolens.cli import run
from genolens.interventions.variant_effects import VariantEffectsConfig
from genolens.provenance import Provenance
from genolens.report.variant_effects import INFO_FIELDS, read_variant_effects
from genolens.sae.checkpoint import save_sae
from genolens.sae.config import make_config
from genolens.sae.registry import build_sae


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ve_out")
    model = make_hyena(folder / "hyena")
    contigs = {"chrT": SEQ, "chrU": SEQ[::-1]}
    rows = [snv(5), snv(60), ("chrT", 90, SEQ[89], SEQ[89] + "GATTA"), ("chrT", 120, SEQ[119], "<DEL>"),
            snv(100, SEQ[::-1], "chrU")]
    ref, vcf = write_reference(folder, contigs), write_vcf(folder, contigs, rows)
    sae = build_sae(make_config("topk", d_in=load_adapter(str(model)).hidden_size, d_sae=24, k=4, seed=2,
                                provenance=Provenance(model=str(model), layer=2)))
    save_sae(sae, folder / "sae")
    return folder, model, ref, vcf


def _check_folder(out, *, n_scored: int, n_skipped: int):
    result = gl.read_variant_effects(out)
    assert len(result.table) == n_scored and len(result.skipped) == n_skipped
    with pysam.VariantFile(str(out / "variant_effects.vcf.gz")) as vf:
        declared = set(vf.header.info)
        assert {f.id for f in INFO_FIELDS} <= declared
        recs = list(vf.fetch("chrT", 0, LENGTH))  # the .tbi index answers region queries
        assert len(recs) == 4 and len(list(vf.fetch("chrU"))) == 1
    scored = {f"{r.chrom}:{r.pos}:{r.ref}>{r.alts[0]}": r for r in recs if "GL_SCORE" in r.info}
    for row in result.table[result.table["contig"] == "chrT"].itertuples():
        rec = scored[row.variant]
        assert rec.info["GL_SCORE"] == pytest.approx(row.score, rel=1e-5, abs=1e-5)
        assert rec.info["GL_METHOD"] == row.method == "llr"
        assert rec.info["GL_TOP"] == row.top_feature
    skipped = {r.pos: r.info["GL_SKIP"] for r in recs if "GL_SKIP" in r.info}
    assert skipped == {5: "window_outside_contig", 120: "symbolic_allele"}
    index = (out / "index.html").read_text()
    assert "skipped" in index.lower() and "variants/variant_0.html" in index
    pages = sorted((out / "variants").glob("variant_*.html"))
    assert len(pages) == n_scored
    assert "Features moved most" in pages[0].read_text()
    return result


def test_python_api_writes_and_reads_back_the_folder(case):
    folder, model, ref, vcf = case
    out = folder / "api"
    result = gl.tl.variant_effects(str(model), reference=ref, vcf=vcf, sae=folder / "sae", out=out,
                                   config=VariantEffectsConfig(width=WIDTH))
    back = _check_folder(out, n_scored=3, n_skipped=2)
    pd.testing.assert_frame_equal(back.table[["variant", "method"]], result.table[["variant", "method"]])
    np.testing.assert_allclose(back.table["score"], result.table["score"], rtol=1e-6)
    np.testing.assert_allclose(back.delta_variant, result.delta_variant)
    assert len(back.tracks) == 3
    np.testing.assert_allclose(back.tracks[1].alt, result.tracks[1].alt)
    assert back.meta["layer"] == 2 and back.meta["encoding-type"] == "genolens-variant-effects"


def test_cli_matches_the_api_and_regions_restrict(case, tmp_path):
    folder, model, ref, vcf = case
    out = tmp_path / "cli"
    code = run(["variant-effects", "--model", str(model), "--reference", str(ref), "--vcf", str(vcf), "--out",
                str(out), "--sae", str(folder / "sae"), "--width", str(WIDTH), "--quiet"])
    assert code == 0
    _check_folder(out, n_scored=3, n_skipped=2)
    out2 = tmp_path / "region"
    assert run(["variant-effects", "--model", str(model), "--reference", str(ref), "--vcf", str(vcf), "--out",
                str(out2), "-r", "chrU:1-200", "--width", str(WIDTH), "--quiet"]) == 0
    only = read_variant_effects(out2)
    assert list(only.table["contig"]) == ["chrU"] and only.delta_variant is None


def test_cli_bad_input_is_one_line_and_exit_2(case, tmp_path, capsys):
    folder, model, ref, _ = case
    contigs = {"chrT": SEQ, "chrU": SEQ[::-1]}
    wrong = "ACGT"[("ACGT".index(SEQ[59]) + 1) % 4]
    vcf = write_vcf(tmp_path, contigs, [("chrT", 60, wrong, SEQ[59])])
    args = ["variant-effects", "--model", str(model), "--reference", str(ref), "--vcf", str(vcf), "--width",
            str(WIDTH), "--quiet"]
    assert run([*args, "--out", str(tmp_path / "a")]) == 2
    assert "does not match the reference" in capsys.readouterr().err
    assert run([*args, "--out", str(tmp_path / "b"), "--skip-mismatch"]) == 0
    assert list(read_variant_effects(tmp_path / "b").skipped["reason"]) == ["ref_mismatch"]
    assert run([*args, "--out", str(tmp_path / "c"), "--rank-by", "nowhere"]) == 2


@pytest.mark.skipif(shutil.which("bcftools") is None, reason="bcftools not installed")
def test_bcftools_reads_the_info_fields(case, tmp_path):
    folder, model, ref, vcf = case
    out = tmp_path / "bcf"
    gl.tl.variant_effects(str(model), reference=ref, vcf=vcf, sae=folder / "sae", out=out,
                          config=VariantEffectsConfig(width=WIDTH))
    query = subprocess.run(["bcftools", "query", "-f", "%CHROM\t%POS\t%INFO/GL_METHOD\t%INFO/GL_SKIP\n",
                            str(out / "variant_effects.vcf.gz")], capture_output=True, text=True, check=True)
    lines = [line.split("\t") for line in query.stdout.strip().splitlines()]
    assert len(lines) == 5 and sorted(x[3] for x in lines if x[3] != ".") == ["symbolic_allele",
                                                                              "window_outside_contig"]


def test_cli_variants_behind_reads_both_folders(case, tmp_path):
    from genolens.stats.results import TABLE_COLUMNS, AssociationResult, write_association

    folder, model, ref, vcf = case
    effects = tmp_path / "effects"
    result = gl.tl.variant_effects(str(model), reference=ref, vcf=vcf, sae=folder / "sae", out=effects,
                                   config=VariantEffectsConfig(width=WIDTH))
    moved = np.count_nonzero(result.delta_variant, axis=0)
    f = int(moved.argmax())  # the feature moved by most variants; the other one is not significant
    assert moved[f] >= 2
    table = pd.DataFrame({c: [0.0, 0.0] for c in TABLE_COLUMNS})
    table["feature"] = [f"f{f}_mean", f"f{(f + 1) % len(moved)}_mean"]
    table["qvalue"] = [0.01, 0.9]
    write_association(AssociationResult(table=table, summary={}), tmp_path / "assoc")
    out = tmp_path / "behind.tsv"
    assert run(["variants-behind", "--effects", str(effects), "--associations", str(tmp_path / "assoc"), "--out",
                str(out), "--top", "2", "--rank-by", "variant"]) == 0
    ranked = pd.read_csv(out, sep="\t")
    assert set(ranked["feature"]) == {f} and len(ranked) == 2 and set(ranked["n_moving"]) == {moved[f]}
    change = result.delta_variant[:, f]
    assert ranked["variant"].iloc[0] == result.table["variant"].iloc[int(np.abs(change).argmax())]
