"""Every input error ``associate`` and its helpers raise, each with a message naming the problem."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from genolens.cohort.aggregate import aggregate_activations
from genolens.cohort.ancestry import PCAConfig, read_dosages, read_eigenvec, read_panel
from genolens.errors import ConfigError, InputFileError, InputFormatError
from genolens.stats.associate import AssociationConfig, associate
from genolens.stats.stratified import stratified_associations


@pytest.fixture()
def adata() -> ad.AnnData:
    rng = np.random.default_rng(0)
    n = 30
    obs = pd.DataFrame(
        {"y": rng.normal(size=n), "label": ["a", "b"] * 15, "PC1": rng.normal(size=n), "age": rng.normal(size=n)},
        index=[f"s{i}" for i in range(n)],
    )
    return ad.AnnData(X=rng.normal(size=(n, 3)), obs=obs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"phenotype": ""}, "must not be empty"),
        ({"phenotype": "y", "pcs": ("PC1",), "no_ancestry": True}, "no_ancestry was requested but PCs"),
        ({"phenotype": "y", "covariates": ("y",), "pcs": ("PC1",)}, "also listed as a covariate"),
        ({"phenotype": "y", "covariates": ("PC1",), "pcs": ("PC1",)}, "both as covariates and PCs"),
    ],
)
def test_association_config_errors(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        AssociationConfig(**kwargs)


def test_associate_input_errors(adata):
    with pytest.raises(ConfigError, match="is not numeric"):
        associate(adata, config=AssociationConfig(phenotype="label", pcs=("PC1",)))
    with pytest.raises(ConfigError, match="layer 'raw' not found"):
        associate(adata, config=AssociationConfig(phenotype="y", pcs=("PC1",)), layer="raw")
    with pytest.raises(ConfigError, match="population column 'pop' not found"):
        associate(adata, config=AssociationConfig(phenotype="y", pcs=("PC1",), population="pop"))
    sparse = adata.copy()
    sparse.obs.loc[sparse.obs_names[2:], "age"] = np.nan
    with pytest.raises(ConfigError, match="only 2 complete samples"):
        associate(sparse, config=AssociationConfig(phenotype="y", covariates=("age",), pcs=("PC1",)))
    empty = adata.copy()
    empty.obs["y"] = np.nan
    with pytest.raises(ConfigError, match="phenotype 'y' is missing for all 30 samples"):
        associate(empty, config=AssociationConfig(phenotype="y", covariates=("age",), pcs=("PC1",)))
    empty.obs["y"], empty.obs["age"] = adata.obs["y"], np.nan
    with pytest.raises(ConfigError, match="covariate 'age' is missing for all 30 samples"):
        associate(empty, config=AssociationConfig(phenotype="y", covariates=("age",), pcs=("PC1",)))
    with pytest.raises(ConfigError, match="stratify column 'pop' not found"):
        stratified_associations(adata, config=AssociationConfig(phenotype="y", pcs=("PC1",)), stratify="pop")


def test_reader_errors(tmp_path):
    header_only = tmp_path / "h.vcf"
    header_only.write_text("##fileformat=VCFv4.2\n")
    with pytest.raises(InputFormatError, match="no #CHROM header"):
        read_dosages(header_only)
    no_iid = tmp_path / "a.eigenvec"
    no_iid.write_text("#FID\tPC1\nF1\t0.1\n")
    with pytest.raises(InputFormatError, match="no IID column"):
        read_eigenvec(no_iid)
    no_pcs = tmp_path / "b.eigenvec"
    no_pcs.write_text("#FID\tIID\nF1\tS1\n")
    with pytest.raises(InputFormatError, match="then PC columns"):
        read_eigenvec(no_pcs)
    with pytest.raises(InputFileError, match="panel file not found"):
        read_panel(tmp_path / "none.tsv")
    empty = tmp_path / "empty.tsv"
    empty.write_text("")
    with pytest.raises(InputFileError, match="panel file is empty"):
        read_panel(empty)
    dup = tmp_path / "dup.tsv"
    dup.write_text("sample\tpop\nA\tX\nA\tY\n")
    with pytest.raises(InputFormatError, match="duplicate samples in panel"):
        read_panel(dup)
    with pytest.raises(ConfigError, match="LD windows"):
        PCAConfig(ld_window=0)


def test_duplicate_samples_in_sheet():
    sheet = pd.DataFrame({"sample": ["A", "A"], "age": [1, 2]})
    with pytest.raises(InputFormatError, match="duplicate samples in the sample sheet"):
        aggregate_activations(np.ones((2, 1)), samples=["A", "A"], sample_sheet=sheet)
