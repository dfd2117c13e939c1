"""The run report finds each stage's outputs and embeds them in one self-contained page."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd

from genolens.cli import run
from genolens.sae.metrics import density_histogram


def test_report_collects_stage_outputs(tmp_path):
    res = tmp_path / "results"
    (res / "sae").mkdir(parents=True)
    (res / "sae" / "eval.json").write_text(json.dumps({
        "fve": 0.8731, "l0": 31.5, "dead_fraction": 0.012, "dense_fraction": 0.05, "tokens": 12345,
        "loss_recovered": {"recovered": 0.9412, "clean": 0.5, "spliced": 0.55, "zero_ablated": 3.1},
    }))
    density_histogram(np.array([0.0, 0.01, 0.2]), res / "sae" / "eval.density.png")
    (res / "dashboard").mkdir()
    (res / "dashboard" / "index.html").write_text("<html></html>")
    (res / "associate").mkdir()
    pd.DataFrame({
        "feature": ["f1", "f2", "f3"], "beta": [0.5, -0.2, 0.01], "se": [0.1, 0.1, 0.1], "stat": [5, -2, 0.1],
        "pvalue": [1e-6, 0.04, 0.9], "neg_log10_p": [6, 1.4, 0.05], "qvalue": [3e-6, 0.06, 0.9], "n": [300] * 3,
        "ancestry_r2": [0.02, 0.7, 0.0], "pvalue_unadjusted": [1e-7, 1e-9, 0.8],
        "category": ["biomarker_candidate", "ancestry_confounded", "none"],
    }).to_csv(res / "associate" / "associations.tsv", sep="\t", index=False)
    (res / "associate" / "associate.json").write_text(json.dumps({"lambda_gc": 1.02, "lambda_gc_unadjusted": 2.5}))
    (res / "audit").mkdir()
    pd.DataFrame({"target": ["super_pop"], "metric": ["balanced_accuracy"], "score": [0.91]}).to_csv(
        res / "audit" / "audit.tsv", sep="\t", index=False)
    out = tmp_path / "report.html"
    assert run(["report", "--in", str(res), "--out", str(out)]) == 0
    page = out.read_text()
    assert "0.873" in page and "0.941" in page  # FVE and loss recovered
    assert 'href="results/dashboard/index.html"' in page  # relative link, opens from disk
    assert page.index("f1") < page.index("f2")  # ranked by p-value
    assert 'class="biomarker_candidate"' in page and 'class="ancestry_confounded"' in page
    assert "2.5" in page and "1.02" in page  # lambda GC with and without PCs
    assert "balanced_accuracy" in page
    assert len(re.findall(r'src="data:image/png;base64,', page)) == 1  # density embedded; no external files
    assert "http://" not in page and "https://" not in page


def test_report_of_missing_folder_is_an_error(tmp_path, capsys):
    assert run(["report", "--in", str(tmp_path / "nope"), "--out", str(tmp_path / "r.html")]) == 2
    assert "results folder does not exist" in capsys.readouterr().err


def test_report_shows_the_genotype_baseline_table_and_plot(tmp_path):
    from genolens.stats.plots import baseline_plot

    res = tmp_path / "results" / "stats" / "baseline"
    res.mkdir(parents=True)
    table = pd.DataFrame({
        "phenotype_id": ["ENSG1", "ENSG2"], "n_features": [4, 6], "n_variants": [80, 95], "r2_features": [0.01, 0.2],
        "r_features": [0.1, 0.45], "sign_features": [1.0, 1.0], "r2_genotypes": [0.17, 0.05],
        "r_genotypes": [0.42, 0.25], "sign_genotypes": [1.0, 1.0], "r_between": [0.3, 0.5],
        "delta_r2": [-0.16, 0.15], "verdict": ["miss", "beat"], "eqtl_variant": ["22:1:rs1", "22:2:rs2"],
        "eqtl_qval": [1e-12, 0.3],
    })
    table.to_csv(res / "baseline.tsv", sep="\t", index=False)
    baseline_plot(table, path=res / "baseline.png")
    out = tmp_path / "report.html"
    assert run(["report", "--in", str(tmp_path / "results"), "--out", str(out)]) == 0
    page = out.read_text()
    assert "Genotype baseline" in page and "ENSG1" in page
    assert "22:2:rs2" not in page and 'href="results/stats/baseline/baseline.tsv"' in page  # narrow table, TSV linked
    assert "features miss genotypes" in page and "features beat genotypes" in page
    assert len(re.findall(r'src="data:image/png;base64,', page)) == 1


def test_a_failed_fit_is_flagged_in_the_report_and_drawn_at_the_plot_edge(tmp_path):
    """An out-of-fold R² of -23,263 (CRELD2 before the baseline's fix) is a failed fit: the report says so
    instead of printing it, and the plot keeps the other genes readable."""
    from matplotlib.figure import Figure

    from genolens.stats.plots import baseline_plot, draw_baseline

    res = tmp_path / "results" / "stats" / "baseline"
    res.mkdir(parents=True)
    table = pd.DataFrame({
        "phenotype_id": ["ENSG1", "ENSG2", "ENSG3"], "n_features": [4, 6, 5], "n_variants": [80, 95, 70],
        "r2_features": [0.01, -23263.0, 0.12], "r2_features_low": [-0.02, -77323.0, 0.05],
        "r2_features_high": [0.04, -0.5, 0.2], "r2_genotypes": [0.17, 0.05, 0.10],
        "r2_genotypes_low": [0.1, 0.01, 0.04], "r2_genotypes_high": [0.25, 0.09, 0.16],
        "delta_r2": [-0.16, -23263.05, 0.02], "verdict": ["miss", "miss", "match"],
        "eqtl_qval": [1e-12, 1e-3, 0.3],
    })
    table.to_csv(res / "baseline.tsv", sep="\t", index=False)
    baseline_plot(table, path=res / "baseline.png")
    out = tmp_path / "report.html"
    assert run(["report", "--in", str(tmp_path / "results"), "--out", str(out)]) == 0
    page = out.read_text()
    assert "failed fit" in page and "23263" not in page and "-23,263" not in page
    ax = draw_baseline(table, ax=Figure().subplots())
    low, high = ax.get_ylim()
    assert -0.2 < low < 0 and high < 0.3  # the scale of the real estimates, not of the failed one
    assert any("failed fit" in t.get_text() for t in ax.get_legend().get_texts())


def _baseline_run(root):  # noqa: ANN001, ANN202
    """A results folder with a genotype baseline of two genes and an audit at its permutation floor."""
    base = root / "stats" / "baseline"
    base.mkdir(parents=True)
    pd.DataFrame({
        "phenotype_id": ["ENSG00000184164.10", "ENSG00000100299.12"], "r2_features": [0.02, 0.31],
        "r2_genotypes": [0.05, 0.42], "delta_r2": [-0.03, -0.11], "verdict": ["match", "below"],
        "eqtl_qval": [0.4, 1e-8], "features_qval": [0.6, 1e-4], "features_category": ["none", "both"],
    }).to_csv(base / "baseline.tsv", sep="\t", index=False)
    (base / "baseline.json").write_text(json.dumps({
        "alpha": 0.05, "genes_with_eqtl": ["ENSG00000100299.12"],
        "genes_features_and_genotypes": ["ENSG00000100299.12"], "genes_only_features": [],
    }))
    audit = root / "stats" / "audit"
    audit.mkdir(parents=True)
    pd.DataFrame({"target": ["super_pop"], "metric": ["balanced_accuracy"], "score": [0.62], "ci_low": [0.55],
                  "ci_high": [0.69], "chance": [0.2], "null_mean": [0.2], "perm_pvalue": [1 / 11],
                  "perm_pvalue_floor": [1 / 11]}).to_csv(audit / "audit.tsv", sep="\t", index=False)
    names = root / "genes.tsv"
    names.write_text("gene_id\tsymbol\nENSG00000184164.10\tCRELD2\nENSG00000100299.12\tARSA\n")
    return names


def test_report_opens_with_the_answer_names_genes_and_states_permutation_floors(tmp_path):
    names = _baseline_run(tmp_path / "results")
    out = tmp_path / "report.html"
    assert run(["report", "--in", str(tmp_path / "results"), "--gene-names", str(names), "--out", str(out)]) == 0
    page = out.read_text()
    start = page.index("In brief</h2>")
    brief = page[start:page.index("Genotype baseline", start)]
    assert "Of 2 genes, 1 has a genotype cis-eQTL in their windows" in brief
    assert "the model&#x27;s features recover 1 of them" in brief
    assert "The strongest eQTL gene is ARSA (ENSG00000100299.12)" in brief
    assert "balanced accuracy 0.62 [0.55, 0.69] (chance 0.20; permutation p ≤ 0.091 (floor: 1/(n+1), n = 10" in brief
    assert page.index("In brief") < page.index("<table")  # the answer before any table
    assert "CRELD2 (ENSG00000184164.10)" in page and "baseline.tsv</a>" in page
    assert "none can be below 1/(n+1) = 0.091" in page


def test_report_states_the_kinship_basis_and_what_was_removed(tmp_path):
    from genolens.cohort.kinship import king_from_dosages, write_kinship

    rng = np.random.default_rng(0)
    dosage = rng.integers(0, 3, size=(500, 6)).astype(float)
    dosage[:, 5] = dosage[:, 4]  # a duplicate
    write_kinship(king_from_dosages(dosage, samples=list("abcdef")), tmp_path / "results" / "stats" / "kinship")
    out = tmp_path / "report.html"
    assert run(["report", "--in", str(tmp_path / "results"), "--out", str(out)]) == 0
    page = out.read_text()
    assert "KING-robust kinship (plink2&#x27;s estimator) of 6 samples from 500 biallelic SNVs" in page
    assert "1 pairs above 0.0884" in page and "too few to call relatives" in page
    assert "No sample was removed" in page


def test_gene_names_table_errors_and_version_suffix(tmp_path):
    import pytest

    from genolens.errors import InputFormatError
    from genolens.io.gene_names import read_gene_names, with_name

    bad = tmp_path / "bad.tsv"
    bad.write_text("id\tsymbol\nENSG1\tA\n")
    with pytest.raises(InputFormatError, match="needs a gene_id column"):
        read_gene_names(bad)
    twice = tmp_path / "twice.tsv"
    twice.write_text("gene_id\tgene_name\nENSG1.2\tA\nENSG1.2\tB\n")
    with pytest.raises(InputFormatError, match="listed twice"):
        read_gene_names(twice)
    names = {"ENSG1.2": "A", "ENSG3.1": ""}
    assert with_name("ENSG1.5", names) == "A (ENSG1.5)" and with_name("ENSG9", names) == "ENSG9"
