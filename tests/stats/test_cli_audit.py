"""``genolens audit`` end to end and its error paths."""

from __future__ import annotations

import json

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from genolens.cli import run


@pytest.fixture(scope="module")
def features(genotypes, tmp_path_factory):
    rng = np.random.default_rng(1)
    panel = genotypes.panel.loc[genotypes.samples]
    samples = list(rng.choice(panel.index, 300, replace=False))
    pcs = genotypes.pcs.loc[samples, ["PC1", "PC2"]]
    x = np.column_stack([pcs.to_numpy() / pcs["PC1"].std() @ rng.normal(size=(2, 4)), rng.normal(size=(300, 4))])
    x = x + 0.3 * rng.normal(size=x.shape)
    obs = panel.loc[samples, ["super_pop"]].join(pcs)
    path = tmp_path_factory.mktemp("audit") / "f.h5ad"
    ad.AnnData(X=x, obs=obs).write_h5ad(path)
    return path


def test_audit_writes_table_and_json(features, tmp_path):
    out = tmp_path / "audit"
    argv = ["audit", "--features", str(features), "--labels", "super_pop", "--out", str(out)]
    assert run([*argv, "--permutations", "5", "--bootstrap", "100", "--folds", "3"]) == 0
    table = pd.read_csv(out / "audit.tsv", sep="\t")
    assert set(table["target"]) == {"super_pop", "PC1", "PC2"}
    assert list(table.columns) == [
        "target",
        "metric",
        "score",
        "ci_low",
        "ci_high",
        "chance",
        "null_mean",
        "perm_pvalue",
        "perm_pvalue_floor",
    ]
    summary = json.loads((out / "audit.json").read_text())
    assert summary["config"]["n_permutations"] == 5 and summary["pcs"] == ["PC1", "PC2"]
    pc1 = table.set_index("target").loc["PC1"]
    assert pc1["score"] > 0.5


def test_audit_error_paths(features, tmp_path, capsys):
    out = str(tmp_path / "o")
    cases = [
        (["--features", str(tmp_path / "nope.h5ad"), "--labels", "super_pop"], "features file not found"),
        (["--features", str(features), "--labels", "nope"], "label column 'nope' not found"),
        (["--features", str(features), "--labels", "super_pop", "--pcs", "5"], "obs lacks ['PC3'"),
        (["--features", str(features), "--labels", "super_pop", "--folds", "1"], "n_folds must be >= 2"),
        (["--features", str(features), "--labels", "super_pop", "--use-rep", "emb"], "not in obsm"),
    ]
    for argv, message in cases:
        assert run(["audit", *argv, "--out", out]) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, (argv, err)


def test_audit_takes_pcs_from_an_eigenvec(features, tmp_path):
    adata = ad.read_h5ad(features)
    eigenvec = tmp_path / "pcs.eigenvec"
    pcs = adata.obs[["PC1", "PC2"]]
    eigenvec.write_text("#FID\tIID\tPC1\tPC2\n" + "".join(f"{s}\t{s}\t{a}\t{b}\n" for s, (a, b) in pcs.iterrows()))
    bare = tmp_path / "bare.h5ad"
    ad.AnnData(X=adata.X, obs=adata.obs[["super_pop"]]).write_h5ad(bare)
    out = tmp_path / "audit"
    assert run(["audit", "--features", str(bare), "--labels", "super_pop", "--eigenvec", str(eigenvec), "--pcs", "2",
                "--permutations", "5", "--bootstrap", "50", "--folds", "3", "--out", str(out)]) == 0
    table = pd.read_csv(out / "audit.tsv", sep="\t")
    assert set(table["target"]) == {"super_pop", "PC1", "PC2"}
    assert table.loc[table["target"] == "PC1", "score"].iloc[0] > 0.5  # features were built from PC1 and PC2
