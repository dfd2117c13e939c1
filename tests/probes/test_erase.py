"""LEACE erasure of ancestry from per-sample features built from real 1000 Genomes genotypes (issue #15).

Features: the dosages of 40 population-differentiated and 40 barely differentiated common chr22 SNVs of
the 911 AFR, EAS and EUR samples of the thinned phase 1 VCF (real genotypes; ``genotypes`` fixture). The
phenotype is simulated on the real genotypes: the sum of 10 of the barely differentiated SNVs plus noise.
"""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import torch

import genolens as gl
from genolens.cli import run
from genolens.errors import ConfigError, InputFormatError
from genolens.probes.erase import EraseConfig, check_eraser, concept_matrix, fit_eraser, load_eraser
from genolens.probes.probe import ProbeConfig
from genolens.provenance import Provenance
from genolens.stats.audit import AuditConfig

FAST = EraseConfig(audit=AuditConfig(n_folds=3, n_permutations=19, n_bootstrap=100),
                   probe=ProbeConfig(n_folds=3, n_bootstrap=100, l1_steps=0))


@pytest.fixture(scope="module")
def cohort(genotypes) -> ad.AnnData:
    panel = genotypes.panel.loc[genotypes.samples]
    keep = panel["super_pop"].isin(["AFR", "EAS", "EUR"]).to_numpy()
    dos = np.nan_to_num(genotypes.dosages[:, keep], nan=0.0)  # variants x samples
    pops = panel["super_pop"].to_numpy()[keep]
    freq = np.stack([dos[:, pops == p].mean(1) / 2 for p in ("AFR", "EAS", "EUR")], axis=1)
    common = (freq.min(1) > 0.1) & (freq.max(1) < 0.9)
    spread = np.where(common, freq.max(1) - freq.min(1), np.nan)
    order = np.argsort(spread)  # NaN (rare) last
    n_common = int(common.sum())
    flat, steep = order[:40], order[n_common - 40:n_common]
    x = np.column_stack([dos[steep].T, dos[flat].T])
    rng = np.random.default_rng(0)
    trait = dos[flat[:10]].sum(0) + rng.normal(scale=1.0, size=keep.sum())
    obs = pd.DataFrame({"super_pop": pops, "trait": trait},
                       index=pd.Index(np.asarray(genotypes.samples)[keep], name="sample"))
    obs = obs.join(genotypes.pcs[["PC1", "PC2"]])
    return ad.AnnData(X=x, obs=obs)


def _closed_form(x: np.ndarray, z: np.ndarray, tol: float = 0.01) -> np.ndarray:
    """LEACE in closed form (Belrose et al. 2023, Theorem 4.3), written from the paper with numpy:
    r(x) = x - W^+ P_{W Sxz} W (x - mean), W = Sxx^{-1/2} (pseudo-inverse square root)."""
    xc, zc = x - x.mean(0), z - z.mean(0)
    sxx, sxz = xc.T @ xc / len(x), xc.T @ zc / len(x)
    lam, vec = np.linalg.eigh(sxx)
    ok = lam > lam[-1] * len(lam) * np.finfo(float).eps
    w = (vec * np.where(ok, 1 / np.sqrt(np.clip(lam, 1e-300, None)), 0)) @ vec.T
    w_pinv = (vec * np.where(ok, np.sqrt(np.clip(lam, 0, None)), 0)) @ vec.T
    u, s, _ = np.linalg.svd(w @ sxz, full_matrices=False)
    u = u[:, s > tol]
    return x - xc @ (w_pinv @ u @ u.T @ w).T


def test_leace_matches_its_closed_form_and_leaves_no_linear_trace(cohort):
    x = np.asarray(cohort.X, dtype=np.float64)
    z, classes = concept_matrix(cohort.obs["super_pop"].to_numpy())
    assert classes == ("AFR", "EAS", "EUR") and z.shape == (x.shape[0], 3)
    exact = fit_eraser(x, z, concept="super_pop", classes=classes, shrinkage=False)
    np.testing.assert_allclose(exact.apply(x), _closed_form(x, z), atol=1e-8)
    eraser = fit_eraser(x, z, concept="super_pop", classes=classes)  # with shrinkage, as gl.tl.erase fits it
    for erased in (exact.apply(x), eraser.apply(x)):
        cross = (erased - erased.mean(0)).T @ (z - z.mean(0)) / len(x)
        before = (x - x.mean(0)).T @ (z - z.mean(0)) / len(x)
        assert np.abs(cross).max() < 1e-8 * np.abs(before).max()  # class means made equal: no linear signal
        assert np.abs(erased - x).max() > 0.1
    np.testing.assert_allclose(eraser(torch.from_numpy(x).float()).numpy(), eraser.apply(x), atol=1e-3)


def test_population_probe_falls_to_its_null_and_the_trait_survives(cohort, tmp_path):
    adata = cohort.copy()
    result = gl.tl.erase(adata, concept="super_pop", phenotypes=["trait"], config=FAST)
    print(result.audit.to_string(), result.phenotypes.to_string())  # the README's figures (pytest -s)
    audit = result.audit.set_index(["stage", "metric"])
    before, after = audit.loc[("before", "balanced_accuracy")], audit.loc[("after", "balanced_accuracy")]
    assert before["score"] > 0.95 and not before["within_null"]
    assert after["within_null"], after
    assert after["null_low"] < 1 / 3 < after["null_high"]
    pheno = result.phenotypes.set_index(["representation", "metric"])
    r2_before, r2_after = pheno.loc[("before", "r2"), "score"], pheno.loc[("after", "r2"), "score"]
    assert r2_before > 0.5 and r2_after > 0.5 and r2_after > r2_before - 0.1
    assert pheno.loc[("shuffled_after", "r2"), "score"] < 0.05
    assert adata.obsm["erased"].shape == adata.shape and adata.uns["erased"]["rank"] >= 2
    out = result.write(tmp_path / "erase")
    eraser = load_eraser(out / "eraser")
    np.testing.assert_allclose(eraser.apply(np.asarray(cohort.X)), adata.obsm["erased"], atol=1e-4)


def test_ancestry_pcs_are_erased_as_values(cohort):
    result = gl.tl.erase(cohort.copy(), concept=["PC1", "PC2"], config=FAST)
    audit = result.audit.set_index(["stage", "target", "metric"])
    assert audit.loc[("before", "PC1", "r2"), "score"] > 0.5
    assert audit.loc[("after", "PC1", "r2"), "score"] < 0.05 and audit.loc[("after", "PC2", "r2"), "score"] < 0.05


def test_erase_cli_and_errors(cohort, tmp_path, capsys):
    h5ad = tmp_path / "features.h5ad"
    cohort.write_h5ad(h5ad)
    out = tmp_path / "out"
    assert run(["erase", "--features", str(h5ad), "--concept", "super_pop", "--phenotype", "trait", "--folds", "3",
                "--permutations", "9", "--bootstrap", "50", "--out", str(out)]) == 0
    assert (out / "eraser" / "eraser.safetensors").is_file() and (out / "audit.tsv").is_file()
    assert "super_pop balanced_accuracy after" in capsys.readouterr().out
    assert run(["erase", "--features", str(h5ad), "--concept", "nope", "--out", str(out)]) == 2
    assert "obs columns ['nope'] not found" in capsys.readouterr().err
    eraser = load_eraser(out / "eraser")
    check_eraser(eraser, Provenance())
    moved = type(eraser)(eraser.concept, eraser.proj_left, eraser.proj_right, eraser.bias,
                         provenance=Provenance(model="hyenadna-tiny", layer=2))
    with pytest.raises(ConfigError, match="eraser 'super_pop' does not match the input: layer: eraser has 2"):
        check_eraser(moved, Provenance(model="hyenadna-tiny", layer=1))
    (out / "eraser" / "cfg.json").write_text('{"encoding-type": "other"}')
    with pytest.raises(InputFormatError, match="does not describe a genolens eraser"):
        load_eraser(out / "eraser")


def test_more_features_than_samples_is_fit_in_the_samples_span(cohort):
    """Per-sample features are often wider than the cohort (23,552 features of 330 people in the dense main job):
    the eraser is fit in the span of the rows, the same LEACE as the closed form with the pseudo-inverse, with no
    d x d covariance."""
    rng = np.random.default_rng(1)
    rows = rng.choice(cohort.n_obs, 60, replace=False)
    x = np.column_stack([np.asarray(cohort.X, dtype=np.float64)[rows], rng.normal(size=(60, 140))])  # d 220 > 60
    z, classes = concept_matrix(cohort.obs["super_pop"].to_numpy()[rows])
    exact = fit_eraser(x, z, concept="super_pop", classes=classes, shrinkage=False)
    np.testing.assert_allclose(exact.apply(x), _closed_form(x, z), atol=1e-8)
    for eraser in (exact, fit_eraser(x, z, concept="super_pop", classes=classes)):
        erased = eraser.apply(x)
        cross = (erased - erased.mean(0)).T @ (z - z.mean(0)) / len(x)
        assert np.abs(cross).max() < 1e-8 * np.abs((x - x.mean(0)).T @ (z - z.mean(0))).max()
        assert eraser.proj_left.shape[0] == x.shape[1] and eraser.proj_right.shape[1] == x.shape[1]
        _, _, vt = np.linalg.svd(x - x.mean(0), full_matrices=False)
        off = rng.normal(size=x.shape[1])
        off -= vt.T @ (vt @ off)  # orthogonal to the rows' span: nothing there to erase
        np.testing.assert_allclose(eraser.apply(x[:1] + off) - eraser.apply(x[:1]), off[None], atol=1e-8)


def test_wide_features_write_the_cross_fitted_matrix_and_say_below_chance(tmp_path, capsys):
    """Planted: 150 samples, 400 features, a binary label shifting 10 of them. The eraser fit on all samples zeroes
    the label's in-sample trace, and a fresh probe then reads it with its sign flipped (AUROC about 0); the written
    matrix is the cross-fitted one (fresh AUROC 0.2-0.33 over three seeds, still below the null's 0.36-0.62), and
    the audit and the CLI say *below* its null rather than a one-sided p of 1."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    rng = np.random.default_rng(0)
    n, p = 150, 400
    y = rng.integers(0, 2, n)
    x = rng.normal(size=(n, p))
    x[:, :10] += y[:, None]
    adata = ad.AnnData(X=x, obs=pd.DataFrame({"label": np.where(y == 1, "a", "b")}, index=[f"s{i}" for i in range(n)]))

    def fresh(m: np.ndarray) -> float:
        cv = StratifiedKFold(5, shuffle=True, random_state=7)
        prob = cross_val_predict(LogisticRegression(max_iter=2000), m, y, cv=cv, method="predict_proba")[:, 1]
        return roc_auc_score(y, prob)

    result = gl.tl.erase(adata, concept="label", config=FAST)
    assert result.summary["written"].startswith("cross-fitted") and "features >= samples" in result.summary["caveat"]
    written, full_fit = adata.obsm["erased"], result.eraser.apply(x)
    assert fresh(x) > 0.85 and fresh(full_fit) < 0.1 < fresh(written)
    after = result.audit[(result.audit.stage == "after") & (result.audit.metric == "balanced_accuracy")].iloc[0]
    assert after.versus_null == "below" and not after.within_null
    h5ad = tmp_path / "wide.h5ad"
    adata.write_h5ad(h5ad)
    assert run(["erase", "--features", str(h5ad), "--concept", "label", "--folds", "3", "--permutations", "19",
                "--bootstrap", "50", "--out", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    assert "label balanced_accuracy after" in printed
    assert "BELOW its null: still readable, with its sign flipped" in printed
    assert "written: cross-fitted" in printed
