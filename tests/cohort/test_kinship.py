"""KING-robust kinship against plink2 --make-king-table on the bundled real genotypes (issue #32)."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
from testpaths import VCF

from genolens.cli import run
from genolens.cohort.kinship import king_from_dosages

pytestmark = pytest.mark.skipif(shutil.which("plink2") is None, reason="needs plink2 (apt-get install plink2)")


@pytest.fixture(scope="module")
def plink2_king(tmp_path_factory):
    """plink2's KING table of every pair and its --king-cutoff removal, on the biallelic SNVs at MAF >= 0.05."""
    tmp = tmp_path_factory.mktemp("plink2_king")
    common = ["plink2", "--vcf", str(VCF), "--maf", "0.05", "--snps-only", "--max-alleles", "2", "--threads", "1"]
    subprocess.run([*common, "--make-king-table", "--out", str(tmp / "all")], check=True, capture_output=True)
    subprocess.run([*common, "--king-cutoff", "0.0884", "--out", str(tmp / "cut")], check=True, capture_output=True)
    return (pd.read_csv(tmp / "all.kin0", sep="\t"),
            set(pd.read_csv(tmp / "cut.king.cutoff.out.id", sep="\t")["#IID"].astype(str)))


def test_kinship_equals_plink2_on_every_pair(plink2_king, tmp_path):
    table, plink_removed = plink2_king
    out = tmp_path / "king"
    assert run(["kinship", "--vcf", str(VCF), "--out", str(out), "--remove-related"]) == 0
    ours = pd.read_csv(out.with_name("king.kin0"), sep="\t")
    summary = json.loads(out.with_name("king.king.json").read_text())
    assert summary["n_variants"] == 3598 and not summary["trustworthy"] and "too noisy" in summary["note"]
    degrees = summary["pairs_by_degree"]
    bins = pd.cut(table["KINSHIP"], [-np.inf, 0.0442, 0.0884, 0.177, 0.354, np.inf],
                  labels=["none", "third", "second", "first", "duplicate"]).value_counts()
    assert degrees == {d: int(bins[d]) for d in ("duplicate", "first", "second", "third")}
    # the pairs above the second-degree cutoff are plink2's, with the same coefficients (plink2 prints 6 digits)
    above = table[table["KINSHIP"] > 0.0884]
    merged = above.merge(ours, on=["#IID1", "IID2"], suffixes=("_plink2", ""), validate="1:1")
    assert len(ours) == len(above) == len(merged) == summary["n_pairs_above_cutoff"]
    for col in ("NSNP", "HETHET", "IBS0", "KINSHIP"):
        np.testing.assert_allclose(merged[col], merged[f"{col}_plink2"], atol=1e-6, rtol=0)
    # and every one of the 595,686 pairs agrees to 1e-6
    from genolens.cohort.kinship import king_kinship

    every = king_kinship(VCF).pairs().merge(table, on=["#IID1", "IID2"], suffixes=("", "_plink2"), validate="1:1")
    assert len(every) == len(table) == 1092 * 1091 // 2
    np.testing.assert_allclose(every["KINSHIP"], every["KINSHIP_plink2"], atol=1e-6, rtol=0)
    # removal leaves no related pair, with as many samples removed as plink2 (ties may pick other samples)
    removed = set(pd.read_csv(out.with_name("king.king.cutoff.out.id"), sep="\t")["#IID"].astype(str))
    assert len(removed) == len(plink_removed) and removed == set(summary["removed"])
    kept = ~table["#IID1"].isin(removed) & ~table["IID2"].isin(removed)
    assert (table.loc[kept, "KINSHIP"] <= 0.0884).all()


def test_planted_relatives_are_found():
    """Parent-child pairs and duplicates built from real-like genotypes score about 0.25 and 0.5."""
    rng = np.random.default_rng(0)
    freq = rng.uniform(0.1, 0.9, size=20_000)
    founders = (rng.random((20_000, 2, 4)) < freq[:, None, None]).astype(int)  # variants x haplotype x person
    child = np.stack([founders[:, 0, 0], founders[:, 0, 1]], axis=1)  # one haplotype from each of persons 0, 1
    dosage = np.column_stack([founders.sum(1), child.sum(1), founders[:, :, 2].sum(1)]).astype(float)
    dosage[rng.random(dosage.shape) < 0.01] = np.nan  # some missing calls
    k = king_from_dosages(dosage, samples=["p0", "p1", "p2", "p3", "child", "dup2"])
    pairs = k.pairs().set_index(["#IID1", "IID2"])["KINSHIP"]
    assert abs(pairs[("child", "p0")] - 0.25) < 0.02 and abs(pairs[("child", "p1")] - 0.25) < 0.02
    assert abs(pairs[("dup2", "p2")] - 0.5) < 0.02
    assert abs(pairs[("p1", "p0")]) < 0.02 and k.unrelated(cutoff=0.0884) in (["child", "dup2"], ["child", "p2"])


def test_dosages_that_are_not_hard_calls_are_refused():
    from genolens.errors import ConfigError

    with pytest.raises(ConfigError, match="hard calls"):
        king_from_dosages(np.array([[0.0, 1.4], [2.0, 1.0]]), samples=["a", "b"])
    with pytest.raises(ConfigError, match="for 3 samples"):
        king_from_dosages(np.zeros((4, 2)), samples=["a", "b", "c"])
