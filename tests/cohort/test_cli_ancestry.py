"""``genolens ancestry`` writes PLINK 2 eigenvec PCs that separate the 1000 Genomes super-populations."""

from __future__ import annotations

import numpy as np
import pandas as pd

from genolens.cli import run
from genolens.cohort.ancestry import read_eigenvec

EX = "data/example"


def test_ancestry_pcs_separate_populations(tmp_path):
    out = tmp_path / "pcs.eigenvec"
    assert run(["ancestry", "--vcf", f"{EX}/genotypes/1kg_phase1_chr22_16-22Mb.vcf.gz", "--pcs", "4",
                "--out", str(out)]) == 0
    pcs = read_eigenvec(out)
    assert pcs.shape == (1092, 4) and out.with_suffix(".json").is_file()
    panel = pd.read_csv(f"{EX}/genotypes/samples_1092_population_panel.tsv", sep="\t", index_col="sample")
    afr = (panel.loc[pcs.index, "super_pop"] == "AFR").to_numpy(float)
    best = max(abs(np.corrcoef(pcs[c], afr)[0, 1]) for c in pcs.columns)
    assert best > 0.6  # the leading axes of chr22 variation split African from non-African samples


def test_ancestry_for_sheet_samples_only(tmp_path):
    sheet = tmp_path / "s.tsv"
    panel = pd.read_csv(f"{EX}/genotypes/samples_1092_population_panel.tsv", sep="\t")
    panel.iloc[::4][["sample", "super_pop"]].to_csv(sheet, sep="\t", index=False)
    out = tmp_path / "pcs.eigenvec"
    assert run(["ancestry", "--vcf", f"{EX}/genotypes/1kg_phase1_chr22_16-22Mb.vcf.gz", "--sample-sheet", str(sheet),
                "--pcs", "3", "--out", str(out)]) == 0
    assert list(read_eigenvec(out).index) == list(panel["sample"].iloc[::4])
