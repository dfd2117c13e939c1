"""Tiny random checkpoints of every family (session-scoped: built once) and the real offline ones."""

from __future__ import annotations

from pathlib import Path

import pytest
from tiny_models import (
    make_bert_bpe,
    make_bert_protein,
    make_esm2,
    make_fairseq_roberta,
    make_gpt2,
    make_hyena,
    make_nt,
)

ANTICAPT_HYENA = "models/dataset1/finetuned_hyenadna"


@pytest.fixture(scope="session")
def esm2_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_esm2(tmp_path_factory.mktemp("esm2"))


@pytest.fixture(scope="session")
def nt_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_nt(tmp_path_factory.mktemp("nt"))


@pytest.fixture(scope="session")
def bert_protein_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_bert_protein(tmp_path_factory.mktemp("bert_protein"))


@pytest.fixture(scope="session")
def bert_bpe_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_bert_bpe(tmp_path_factory.mktemp("bert_bpe"))


@pytest.fixture(scope="session")
def hyena_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_hyena(tmp_path_factory.mktemp("hyena"))


@pytest.fixture(scope="session")
def gpt2_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_gpt2(tmp_path_factory.mktemp("gpt2"))


@pytest.fixture(scope="session")
def fairseq_roberta_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_fairseq_roberta(tmp_path_factory.mktemp("fairseq_roberta"))


@pytest.fixture(scope="session")
def hyena_tiny_real() -> Path:
    from genolens.adapters.packaged import resolve

    return Path(resolve("hyenadna-tiny").path)
