"""LEACE erasure of a per-sequence concept from a store's per-token activations (planted concept and trait)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from genolens.adapters.base import EmbedResult, SequenceActivations
from genolens.errors import ConfigError
from genolens.features.source import StoreSource
from genolens.io.records import SequenceRecord
from genolens.probes.erase_store import erase_store
from genolens.probes.probe import ProbeConfig, cross_validate, make_target
from genolens.store.format import StoreConfig
from genolens.store.reader import ActivationStore
from genolens.store.writer import write_store

N_SEQ, LENGTH, D = 120, 20, 16
FAST = ProbeConfig(n_folds=5, n_bootstrap=100, l1_steps=0)


class _Planted:
    """Stands in for a model: token ``t`` of sequence ``i`` is noise + 1.5 pop_i (e0 + e1) + 1.5 trait_i e2."""

    def __init__(self, pop: np.ndarray, trait: np.ndarray) -> None:
        self.pop, self.trait = pop, trait
        self.rng = np.random.default_rng(0)

    def fits(self, _seq: str) -> bool:
        return True

    def embed(self, records, *, layers, batch_tokens, overlap) -> EmbedResult:  # noqa: ANN001, ARG002
        out = []
        for rec in records:
            i = int(rec.id[1:])
            x = self.rng.normal(size=(len(rec), D))
            x[:, 0] += 1.5 * self.pop[i]
            x[:, 1] += 1.5 * self.pop[i]
            x[:, 2] += 1.5 * self.trait[i]
            pos = np.arange(len(rec))
            out.append(SequenceActivations(rec, {1: torch.from_numpy(x).float()}, np.stack([pos, pos + 1], 1)))
        n = sum(len(r) for r in records)
        return EmbedResult(out, n, n)


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    rng = np.random.default_rng(1)
    pop, trait = rng.integers(0, 2, N_SEQ), rng.integers(0, 2, N_SEQ)
    root = tmp_path_factory.mktemp("erase_store")
    records = [SequenceRecord(f"s{i}", "".join(rng.choice(list("ACGT"), LENGTH)), "dna") for i in range(N_SEQ)]
    cfg = StoreConfig(model="planted", family="hyenadna", layers=(1,), hidden_size=D, shard_size=500,
                      model_hash="sha256:planted", tokenizer="planted")
    write_store(records, _Planted(pop, trait), root / "store", config=cfg)
    table = pd.DataFrame({"pop": np.where(pop == 1, "A", "B"), "trait": np.where(trait == 1, "yes", "no")},
                         index=pd.Index([r.id for r in records], name="id"))
    return root, table


def _auroc(table: pd.DataFrame, target: str, rep: str) -> pd.Series:
    return table[(table.target == target) & (table.representation == rep) & (table.metric == "auroc")].iloc[0]


def test_erased_store_hides_the_concept_and_keeps_the_trait(planted):
    root, table = planted
    result = erase_store(root / "store", labels=table, concept="pop", retain=["trait"], out_store=root / "erased",
                         group_by="sequence", config=FAST)
    a = result.audit
    assert _auroc(a, "pop", "before")["score"] > 0.9  # planted: Phi(1.5) = 0.933 per token
    after = _auroc(a, "pop", "after")
    # cross-fitted erasure: no fold's eraser saw it, yet the probe on the erased rows reads nothing (measured
    # 0.43: held-out class means left by erasers fit elsewhere mirror the training ones, so slightly below chance)
    assert abs(after["score"] - 0.5) < 0.1 and after["ci_high"] < _auroc(a, "pop", "before")["ci_low"]
    shuffled = _auroc(a, "pop", "shuffled_after")
    assert abs(shuffled["score"] - 0.5) < 0.05
    assert _auroc(a, "trait", "after")["score"] > 0.8  # planted: Phi(1.5 / sqrt 2) = 0.856 per token
    # measured 0.846 -> 0.818
    assert _auroc(a, "trait", "after")["score"] > _auroc(a, "trait", "before")["score"] - 0.05
    # the written store: same rows, the layer erased, the edit recorded; a probe on it reads no pop
    erased = ActivationStore(root / "erased")
    assert erased.config.edits == ("leace:pop@L1",) and erased.n_rows == N_SEQ * LENGTH
    erased.verify()
    src = StoreSource(root / "erased")
    x = np.vstack([c.acts.numpy() for c in src.chunks(chunk_rows=4096)])
    seq = np.concatenate([c.seq for c in src.chunks(chunk_rows=4096)])
    ids = src.sequences["id"].to_numpy()[seq]
    cv = cross_validate({"erased": x}, [make_target(c, table.loc[ids, c].to_numpy()) for c in ("pop", "trait")],
                        groups=ids, config=FAST).table
    assert _auroc(cv, "pop", "erased")["score"] < 0.56  # at (or, fit on all rows, just below) chance
    assert _auroc(cv, "trait", "erased")["score"] > 0.8
    original = np.vstack([c.acts.numpy() for c in StoreSource(root / "store").chunks(chunk_rows=4096)])
    np.testing.assert_allclose(x, result.eraser.apply(original), atol=1e-5)
    assert result.eraser.level == "token" and result.eraser.provenance.model_hash == "sha256:planted"


def test_erase_store_errors(planted, tmp_path):
    root, table = planted
    with pytest.raises(ConfigError, match="not in the label table"):
        erase_store(root / "store", labels=table, concept="nope", config=FAST)
    with pytest.raises(ConfigError, match="already holds a store"):
        erase_store(root / "store", labels=table, concept="pop", out_store=root / "store", group_by="sequence",
                    config=FAST)


def test_erase_cli_on_a_store(planted, tmp_path):
    from genolens.cli import run

    root, table = planted
    labels = tmp_path / "labels.tsv"
    table.reset_index().to_csv(labels, sep="\t", index=False)
    assert run(["erase", "--store", str(root / "store"), "--labels", str(labels), "--concept", "pop",
                "--phenotype", "trait", "--group-by", "sequence", "--out", str(tmp_path / "out"),
                "--erased-store", str(tmp_path / "erased"), "--bootstrap", "20"]) == 0
    assert (tmp_path / "out" / "eraser" / "eraser.safetensors").is_file()
    audit = pd.read_csv(tmp_path / "out" / "audit.tsv", sep="\t")
    assert abs(_auroc(audit, "pop", "after")["score"] - 0.5) < 0.1
    assert ActivationStore(tmp_path / "erased").config.edits == ("leace:pop@L1",)
    assert run(["erase", "--store", str(root / "store"), "--concept", "pop", "--out", str(tmp_path / "x")]) == 2
