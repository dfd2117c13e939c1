"""``gl.tl``: scanpy conventions (results in documented keys, copy semantics) and agreement with the CLI."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest

import genolens as gl
from genolens.cli import run
from genolens.stats.results import TABLE_COLUMNS


@pytest.fixture()
def cohort() -> ad.AnnData:
    """300 samples in three populations: a causal feature, an ancestry-tracking one, noise; PCs in obs."""
    rng = np.random.default_rng(1)
    n = 300
    pop = np.repeat(["A", "B", "C"], n // 3)
    shift = pd.Series({"A": 1.0, "B": 0.0, "C": -1.0})[pop].to_numpy()
    pcs = np.column_stack([shift + 0.1 * rng.normal(size=n), rng.normal(size=n), rng.normal(size=n)])
    causal = rng.normal(size=n)
    tracker = 1.5 * shift + rng.normal(size=n)
    x = np.column_stack([causal, tracker, rng.normal(size=(n, 6))])
    y = shift + 0.6 * causal + rng.normal(size=n)
    obs = pd.DataFrame({"trait": y, "age": rng.normal(50, 10, n), "pop": pop},
                       index=pd.Index([f"s{i}" for i in range(n)], name="sample"))
    obs[["PC1", "PC2", "PC3"]] = pcs
    return ad.AnnData(X=x, obs=obs, var=pd.DataFrame(index=["causal", "tracker"] + [f"noise{i}" for i in range(6)]))


def test_associate_writes_documented_keys_in_place(cohort):
    result = gl.tl.associate(cohort, phenotype="trait", covariates=["age"], n_pcs=3, key_added="assoc")
    assert list(result.table.columns[: len(TABLE_COLUMNS)]) == list(TABLE_COLUMNS)
    for col in TABLE_COLUMNS[1:]:
        np.testing.assert_array_equal(cohort.var[f"assoc_{col}"].to_numpy(), result.table[col].to_numpy())
    assert cohort.uns["assoc"]["pcs"] == {"source": "obs"}
    assert cohort.uns["assoc"]["n_samples_used"] == 300
    table = result.table.set_index("feature")
    assert table.loc["causal", "qvalue"] < 1e-6  # the planted direct effect
    assert table.loc["tracker", "pvalue_unadjusted"] < table.loc["tracker", "pvalue"]  # ancestry explains it


def test_associate_copy_leaves_the_input_untouched(cohort):
    before_obs, before_var = cohort.obs.copy(), cohort.var.copy()
    result = gl.tl.associate(cohort, phenotype="trait", n_pcs=3, stratify="pop", copy=True)
    pd.testing.assert_frame_equal(cohort.obs, before_obs)
    pd.testing.assert_frame_equal(cohort.var, before_var)
    assert "association" not in cohort.uns
    assert result.adata is not None and "association_effect_pattern" in result.adata.var.columns
    assert result.per_stratum is not None and set(result.per_stratum["stratum"]) == {"A", "B", "C"}


def test_python_and_cli_give_the_same_folder(cohort, tmp_path):
    path = tmp_path / "features.h5ad"
    gl.write_features(cohort, path=path)
    assert run(["associate", "--features", str(path), "--phenotype", "trait", "--covariates", "age",
                "--pcs", "3", "--stratify", "pop", "--out", str(tmp_path / "cli")]) == 0
    result = gl.tl.associate(gl.read_features(path), phenotype="trait", covariates=["age"], n_pcs=3,
                             stratify="pop", copy=True)
    gl.write_association(result, tmp_path / "py")
    cli, py = gl.read_association(tmp_path / "cli", features=True), gl.read_association(tmp_path / "py")
    pd.testing.assert_frame_equal(cli.table, py.table)
    pd.testing.assert_frame_equal(cli.per_stratum, py.per_stratum)
    assert cli.summary["category_counts"] == py.summary["category_counts"]
    assert cli.adata.var.loc["causal", "association_category"] == py.table.set_index("feature").loc["causal",
                                                                                                      "category"]
    # and what was read back equals what was computed, up to the TSV round trip
    pd.testing.assert_frame_equal(py.table, result.table, check_exact=False, check_dtype=False)


def test_read_association_refuses_other_folders(tmp_path):
    with pytest.raises(gl.errors.InputFileError, match="not a genolens associate folder"):
        gl.read_association(tmp_path)
    (tmp_path / "associate.json").write_text('{"encoding-type": "genolens-audit"}')
    with pytest.raises(gl.errors.InputFormatError, match="expected encoding-type 'genolens-association'"):
        gl.read_association(tmp_path)


def test_audit_round_trip_and_copy(cohort, tmp_path):
    before = cohort.obs.copy()
    config = gl.stats.AuditConfig(n_folds=3, n_permutations=5, n_bootstrap=20)
    result = gl.tl.audit(cohort, labels="pop", pcs=2, config=config, copy=True)
    pd.testing.assert_frame_equal(cohort.obs, before)
    assert set(result.table["target"]) == {"pop", "PC1", "PC2"}
    back = gl.read_audit(gl.write_audit(result, tmp_path / "audit"))
    pd.testing.assert_frame_equal(back.table, result.table, check_exact=False)
    assert back.summary["pcs"] == ["PC1", "PC2"]
    gl.tl.audit(cohort, labels="pop", pcs=0, config=config, key_added="probe")
    assert cohort.uns["probe"]["results"][0]["target"] == "pop"
