"""``genolens associate`` end to end on real 1000 Genomes samples, and every error path it claims."""

from __future__ import annotations

import json

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from genolens.cli import run
from genolens.stats.results import TABLE_COLUMNS


@pytest.fixture(scope="module")
def cohort(genotypes, tmp_path_factory):
    """400 real samples (AFR, EAS, EUR); a population-shifted phenotype, one causal and two tracking features."""
    rng = np.random.default_rng(0)
    panel = genotypes.panel.loc[genotypes.samples]
    pool = panel.index[panel["super_pop"].isin(["AFR", "EAS", "EUR"])]
    samples = list(rng.choice(pool, 400, replace=False))
    pops = panel.loc[samples, "super_pop"].to_numpy()
    code = np.searchsorted(["AFR", "EAS", "EUR"], pops)
    n = len(samples)
    causal = rng.normal(size=n)
    trackers = np.column_stack([np.array([1.5, -0.5, -1.0])[code] + rng.normal(size=n) for _ in range(2)])
    noise = rng.normal(size=(n, 20))
    x = np.column_stack([causal, trackers, noise])
    y = np.array([1.0, -0.5, -0.5])[code] + 0.5 * causal + rng.normal(size=n)
    obs = pd.DataFrame(
        {
            "trait": y,
            "case": (y > np.median(y)).astype(int),
            "age": rng.normal(50, 10, n),
            "sex": panel.loc[samples, "gender"].to_numpy(),
        },
        index=pd.Index(samples, name="sample"),
    )
    var = pd.DataFrame(index=["causal", "tracker0", "tracker1"] + [f"noise{i}" for i in range(20)])
    folder = tmp_path_factory.mktemp("cohort")
    plain = folder / "features.h5ad"
    ad.AnnData(X=x, obs=obs, var=var).write_h5ad(plain)
    with_pcs = folder / "features_pcs.h5ad"
    ad.AnnData(X=x, obs=obs.join(genotypes.pcs.loc[samples, ["PC1", "PC2", "PC3", "PC4"]]), var=var).write_h5ad(
        with_pcs
    )
    eigenvec = folder / "pcs.eigenvec"
    frame = genotypes.pcs.loc[samples, ["PC1", "PC2", "PC3", "PC4"]].reset_index()
    frame.insert(0, "#FID", frame["sample"])
    frame.rename(columns={"sample": "IID"}).to_csv(eigenvec, sep="\t", index=False)
    return {"plain": plain, "with_pcs": with_pcs, "eigenvec": eigenvec, "folder": folder}


def _error(capsys, argv: list[str]) -> str:
    assert run(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("genolens: error:") and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    return err


def test_associate_with_obs_pcs_writes_table_plots_h5ad_and_json(cohort, tmp_path, stats_panel):
    out = tmp_path / "out"
    argv = ["associate", "--features", str(cohort["with_pcs"]), "--phenotype", "trait", "--covariates", "age,sex"]
    argv += ["--pcs", "4", "--panel", str(stats_panel), "--stratify", "super_pop", "--out", str(out)]
    assert run(argv) == 0
    table = pd.read_csv(out / "associations.tsv", sep="\t")
    assert list(table.columns[: len(TABLE_COLUMNS)]) == list(TABLE_COLUMNS)
    assert {"interaction_pvalue", "effect_pattern", "population_r2", "method", "reason"} <= set(table.columns)
    table = table.set_index("feature")
    assert table.loc["causal", "category"] == "biomarker_candidate"
    # both trackers only track populations, and both lose a significant part of their effect to the PCs; for
    # tracker1 ancestry explains 0.65 (interval 0.43-0.94), most of it: both are 'ancestry_confounded' (the
    # earlier rule, lower bound >= 0.5, left tracker1 'unresolved')
    trackers = table.loc[["tracker0", "tracker1"]]
    assert (trackers["qvalue_change"] < 0.05).all()
    assert list(trackers["category"]) == ["ancestry_confounded", "ancestry_confounded"]
    for png in ("qq.png", "volcano.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads((out / "associate.json").read_text())
    assert summary["config"]["collinearity"] == {"vif": 50.0, "max_corr": 0.999}
    assert summary["config"]["confound"]["alpha"] == 0.05
    assert summary["category_rule"]["change_test"] == "sandwich"
    assert set(summary["category_rule"]) >= {"biomarker_candidate", "both", "ancestry_confounded", "unresolved"}
    assert summary["lambda_gc_unadjusted"] > summary["lambda_gc"]
    assert summary["stratified"]["strata"] == ["AFR", "EAS", "EUR"]
    assert (out / "stratified.tsv").is_file()
    updated = ad.read_h5ad(out / "features.h5ad")
    assert updated.var.loc["causal", "association_category"] == "biomarker_candidate"
    assert "super_pop" in updated.obs.columns


def test_associate_pcs_from_eigenvec_and_from_vcf_agree(cohort, tmp_path, stats_vcf):
    base = ["associate", "--features", str(cohort["plain"]), "--phenotype", "case", "--binary", "--pcs", "3"]
    assert run([*base, "--eigenvec", str(cohort["eigenvec"]), "--out", str(tmp_path / "e")]) == 0
    assert run([*base, "--vcf", str(stats_vcf), "--out", str(tmp_path / "v")]) == 0
    e = pd.read_csv(tmp_path / "e" / "associations.tsv", sep="\t")
    v = pd.read_csv(tmp_path / "v" / "associations.tsv", sep="\t")
    assert set(e["method"]) <= {"logistic", "firth"}
    # PCs computed from the cohort's own samples differ from the all-sample ones, but agree on what matters
    assert (
        e.set_index("feature").loc["causal", "qvalue"] < 0.05 and v.set_index("feature").loc["causal", "qvalue"] < 0.05
    )
    summary = json.loads((tmp_path / "v" / "associate.json").read_text())
    assert summary["pcs"]["source"] == "vcf" and summary["pcs"]["counts"]["after_ld_thinning"] > 100


def test_associate_no_ancestry_flag(cohort, tmp_path):
    out = tmp_path / "o"
    argv = ["associate", "--features", str(cohort["plain"]), "--phenotype", "trait", "--no-ancestry", "--out", str(out)]
    assert run(argv) == 0
    table = pd.read_csv(out / "associations.tsv", sep="\t")
    assert table["ancestry_r2"].isna().all()


def test_associate_error_paths(cohort, tmp_path, capsys, stats_vcf):
    f = str(cohort["plain"])
    fp = str(cohort["with_pcs"])
    out = str(tmp_path / "x")
    err = _error(capsys, ["associate", "--features", str(tmp_path / "nope.h5ad"), "--phenotype", "trait", "--out", out])
    assert "features file not found" in err
    err = _error(capsys, ["associate", "--features", f, "--phenotype", "trait", "--pcs", "0", "--out", out])
    assert "no ancestry terms" in err and "--no-ancestry" in err
    err = _error(capsys, ["associate", "--features", f, "--phenotype", "trait", "--out", out])
    assert "10 PCs asked for but obs has no column(s) ['PC1'" in err
    err = _error(capsys, ["associate", "--features", fp, "--phenotype", "trait", "--pcs", "5", "--out", out])
    assert "'PC5'" in err
    both = ["--eigenvec", str(cohort["eigenvec"]), "--vcf", str(stats_vcf)]
    err = _error(capsys, ["associate", "--features", f, "--phenotype", "trait", *both, "--out", out])
    assert "either an eigenvec file (--eigenvec) or a VCF (--vcf) for the PCs, not both" in err
    err = _error(
        capsys,
        ["associate", "--features", f, "--phenotype", "trait", "--no-ancestry", "--vcf", str(stats_vcf), "--out", out],
    )
    assert "contradicts" in err
    err = _error(capsys, ["associate", "--features", fp, "--phenotype", "nope", "--pcs", "2", "--out", out])
    assert "phenotype column 'nope' not found" in err
    err = _error(
        capsys, ["associate", "--features", fp, "--phenotype", "trait", "--binary", "--pcs", "2", "--out", out]
    )
    assert "must be coded 0/1" in err
    err = _error(
        capsys,
        ["associate", "--features", fp, "--phenotype", "trait", "--covariates", "height", "--pcs", "2", "--out", out],
    )
    assert "'height'" in err and "not found" in err
    err = _error(
        capsys,
        ["associate", "--features", fp, "--phenotype", "trait", "--stratify", "nope", "--pcs", "2", "--out", out],
    )
    assert "stratify column 'nope'" in err
    err = _error(
        capsys,
        [
            "associate",
            "--features",
            fp,
            "--phenotype",
            "trait",
            "--pcs",
            "3",
            "--eigenvec",
            str(cohort["eigenvec"]),
            "--pcs",
            "9",
            "--out",
            out,
        ],
    )
    assert "holds only 4 PCs" in err
    file_out = tmp_path / "file"
    file_out.write_text("")
    err = _error(capsys, ["associate", "--features", fp, "--phenotype", "trait", "--pcs", "2", "--out", str(file_out)])
    assert "not a folder" in err


def test_associate_collinear_covariates_error_and_opt_out(cohort, tmp_path, capsys):
    data = ad.read_h5ad(cohort["with_pcs"])
    data.obs["age_months"] = data.obs["age"] * 12
    path = tmp_path / "collinear.h5ad"
    data.write_h5ad(path)
    argv = [
        "associate",
        "--features",
        str(path),
        "--phenotype",
        "trait",
        "--covariates",
        "age,age_months",
        "--pcs",
        "2",
    ]
    err = _error(capsys, [*argv, "--out", str(tmp_path / "a")])
    assert "collinear covariates" in err and "age_months" in err and "--allow-collinear" in err
    assert run([*argv, "--allow-collinear", "--out", str(tmp_path / "b")]) == 0
    summary = json.loads((tmp_path / "b" / "associate.json").read_text())
    assert summary["collinearity"]["problems"]


def test_associate_sample_mismatch_errors(cohort, tmp_path, capsys, stats_vcf, stats_panel):
    data = ad.read_h5ad(cohort["plain"])
    data.obs_names = ["ZZ999", *data.obs_names[1:]]
    path = tmp_path / "stranger.h5ad"
    data.write_h5ad(path)
    base = ["associate", "--features", str(path), "--phenotype", "trait", "--pcs", "2", "--out", str(tmp_path / "o")]
    err = _error(capsys, [*base, "--vcf", str(stats_vcf)])
    assert "1 of 400 samples are not in the VCF: ZZ999" in err
    err = _error(capsys, [*base, "--eigenvec", str(cohort["eigenvec"])])
    assert "have no PCs" in err and "ZZ999" in err
    err = _error(capsys, [*base, "--panel", str(stats_panel), "--no-ancestry", "--pcs", "0"])
    assert "not in the panel" in err


def test_associate_malformed_eigenvec(cohort, tmp_path, capsys):
    bad = tmp_path / "bad.eigenvec"
    bad.write_text("#IID\tPC1\tPC2\nHG00096\t0.1\tNaNx\n")
    argv = ["associate", "--features", str(cohort["plain"]), "--phenotype", "trait", "--pcs", "2"]
    err = _error(capsys, [*argv, "--eigenvec", str(bad), "--out", str(tmp_path / "o")])
    assert "line 2" in err and "non-numeric" in err


def test_associate_constant_phenotype(cohort, tmp_path, capsys):
    data = ad.read_h5ad(cohort["with_pcs"])
    data.obs["flat"] = 1.0
    path = tmp_path / "flat.h5ad"
    data.write_h5ad(path)
    err = _error(
        capsys,
        ["associate", "--features", str(path), "--phenotype", "flat", "--pcs", "2", "--out", str(tmp_path / "o")],
    )
    assert "constant" in err


def test_negative_pcs_are_rejected(cohort, tmp_path, capsys):
    err = _error(
        capsys,
        [
            "associate",
            "--features",
            str(cohort["plain"]),
            "--phenotype",
            "trait",
            "--pcs",
            "-1",
            "--out",
            str(tmp_path),
        ],
    )
    assert "the number of PCs (--pcs) must be >= 0, got -1" in err
    assert (
        run(["audit", "--features", str(cohort["plain"]), "--labels", "sex", "--pcs", "-1", "--out", str(tmp_path)])
        == 2
    )
    assert "the number of PCs (--pcs) must be >= 0, got -1" in capsys.readouterr().err
