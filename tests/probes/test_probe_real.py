"""Probes on real checkpoints and real labels (issue #15).

* AntiBERTy (the checkpoint shipped in ``antiberty==0.1.3``) on 261 therapeutic antibodies of Thera-SAbDab
  (``data/antibodies/therasabdab``): per-sequence probes of the light-chain type of the VL domains (kappa/lambda)
  and of the species origin of the VH domains (genetically human / humanised / chimeric), grouped so that
  near-identical sequences stay in one fold;
* HyenaDNA-tiny (the checkpoint shipped in ``anticapt==1.0``) on GRCh37 windows with the RefSeq GTF: per-base
  probes of exon, intron and promoter, raw activations and SAE features on the same folds.

Each real probe must beat its shuffled-label control, trained the same way, which must sit at chance.
"""

from __future__ import annotations

import gzip
from collections import defaultdict
from pathlib import Path

import pandas as pd
import pytest

import genolens as gl
from genolens.cli import run
from genolens.probes.probe import ProbeConfig
from genolens.probes.probe_train import read_probe_result

ROOT = Path(__file__).resolve().parents[2]
ANTIBODIES = ROOT / "data" / "antibodies" / "therasabdab" / "antibodies.tsv"
REF = ROOT / "data" / "example" / "reference" / "GRCh37_chr22_1-22000000.fa.gz"
GTF = ROOT / "data" / "example" / "annotation" / "hg19_chr22_refseq_16-22Mb.gtf.gz"
CONFIG = ProbeConfig(n_folds=5, n_bootstrap=200, l1_steps=6)


def _scores(result, target, rep):  # noqa: ANN001, ANN202
    t = result.table
    return t[(t.target == target) & (t.representation == rep)].set_index("metric")


@pytest.fixture(scope="module")
def antibody_store(tmp_path_factory):
    table = pd.read_csv(ANTIBODIES, sep="\t")
    tmp = tmp_path_factory.mktemp("antiberty")
    fasta = tmp / "chains.fa"
    fasta.write_text("".join(f">{r.id}|VL\n{r.vl}\n>{r.id}|VH\n{r.vh}\n" for r in table.itertuples()))
    labels = pd.concat([
        pd.DataFrame({"id": table.id + "|VL", "light_chain": table.light_chain}),
        pd.DataFrame({"id": table.id + "|VH", "origin": table.origin}),
    ])
    labels.to_csv(tmp / "labels.tsv", sep="\t", index=False)
    store = tmp / "store"
    assert run(["embed", "--model", "antiberty", "--layers", "4", "--input", str(fasta), "--out", str(store),
                "--quiet"]) == 0
    return store, tmp / "labels.tsv"


def test_antiberty_reads_light_chain_type_almost_perfectly(antibody_store, tmp_path):
    store, labels = antibody_store
    out = tmp_path / "lc"
    assert run(["probe", "train", "--data", str(store), "--labels", str(labels), "--target", "light_chain",
                "--group-by", "cluster", "--bootstrap", "200", "--out", str(out)]) == 0
    result = read_probe_result(out)
    raw, shuffled = _scores(result, "light_chain", "raw"), _scores(result, "light_chain", "shuffled_raw")
    print(result.table.to_string(), result.summary["n_groups"])  # the README's figures (pytest -s)
    assert result.summary["n_sequences"] == 261 and result.summary["group_by"] == "cluster"
    assert result.summary["n_groups"] < 261  # near-identical VL domains were merged into clusters
    assert raw.loc["auroc", "score"] > 0.98 and raw.loc["balanced_accuracy", "score"] > 0.93
    assert raw.loc["average_precision", "score"] > 0.95
    assert shuffled.loc["auroc", "ci_low"] < 0.5 < shuffled.loc["auroc", "ci_high"]
    assert raw.loc["auroc", "ci_low"] > shuffled.loc["auroc", "ci_high"]
    probe = result.probes[("light_chain", "raw")]
    assert probe.provenance.model == "antiberty" and probe.provenance.layer == 4 and probe.level == "sequence"


def test_antiberty_reads_vh_origin_above_chance(antibody_store, tmp_path):
    store, labels = antibody_store
    extra = tmp_path / "labels.tsv"  # three labelled IDs the store lacks: counted and listed, not dropped silently
    extra.write_text(labels.read_text() + "".join(f"absent{i}|VH\t\tChimeric\n" for i in range(3)))
    result = gl.tl.probe(store, labels=extra, targets=["origin"], group_by="cluster", config=CONFIG)
    assert result.summary["n_labels_not_in_store"] == 3
    assert result.summary["labels_not_in_store"] == [f"absent{i}|VH" for i in range(3)]
    none = tmp_path / "none.tsv"
    none.write_text("id\torigin\nx|VH\tChimeric\ny|VH\tHumanised\n")
    with pytest.raises(gl.errors.ConfigError, match="none of the label table's 2 IDs is a sequence of the store"):
        gl.tl.probe(store, labels=none, targets=["origin"], config=CONFIG)
    raw, shuffled = _scores(result, "origin", "raw"), _scores(result, "origin", "shuffled_raw")
    print(result.table.to_string(), result.summary["n_groups"])
    assert result.summary["targets"]["origin"]["classes"] == {"Chimeric": 61, "Genetically human": 120,
                                                              "Humanised": 80}
    assert raw.loc["balanced_accuracy", "ci_low"] > 1 / 3 + 0.1
    assert raw.loc["balanced_accuracy", "score"] > shuffled.loc["balanced_accuracy", "ci_high"]
    assert shuffled.loc["balanced_accuracy", "ci_low"] < 1 / 3 < shuffled.loc["balanced_accuracy", "ci_high"]


def _gene_windows(n_genes: int = 20) -> str:
    """BED of two 500 bp windows per multi-exon transcript: around its TSS and around its second exon's start."""
    exons = defaultdict(list)
    with gzip.open(GTF, "rt") as fh:
        for line in fh:
            f = line.split("\t")
            if f[2] == "exon":
                tx = f[8].split('transcript_id "')[1].split('"')[0]
                exons[tx].append((int(f[3]) - 1, int(f[4]), f[6]))
    lines, seen = [], set()
    for tx, parts in sorted(exons.items()):
        parts.sort()
        if len(parts) < 3 or parts[0][0] // 20_000 in seen or parts[0][0] < 16_100_000:
            continue
        seen.add(parts[0][0] // 20_000)
        tss = parts[0][0] if parts[0][2] == "+" else parts[-1][1]
        second = parts[1][0] if parts[0][2] == "+" else parts[-2][1]
        lines.append(f"22\t{tss - 350}\t{tss + 150}\t{tx}_tss\n")
        lines.append(f"22\t{second - 250}\t{second + 250}\t{tx}_exon2\n")
        if len(lines) == 2 * n_genes:
            break
    return "".join(lines)


@pytest.fixture(scope="module")
def hyena_store(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hyena_probe")
    bed = tmp / "windows.bed"
    bed.write_text(_gene_windows())
    store = tmp / "store"
    assert run(["embed", "--model", "hyenadna-tiny", "--layers", "2", "--reference", str(REF), "--regions", str(bed),
                "--out", str(store), "--quiet"]) == 0
    sae = tmp / "sae"
    assert run(["train-sae", "--store", str(store), "--layer", "2", "--k", "16", "--width", "256",
                "--tokens", "60000", "--batch-size", "1024", "--out", str(sae), "--no-progress"]) == 0
    return store, sae


def test_hyenadna_per_base_probes_beat_the_shuffled_control(hyena_store):
    store, sae = hyena_store
    config = ProbeConfig(n_folds=5, n_bootstrap=200, l1_steps=5, row_stride=4)
    result = gl.tl.probe(store, labels=GTF, targets=["exon", "intron", "promoter"], sae=sae,
                         contig_map={"22": "chr22"}, config=config)
    print(result.table.to_string(), {k: v.get("sae_features_needed") for k, v in result.summary["targets"].items()})
    assert result.summary["level"] == "base" and result.summary["n_rows"] == 5_000
    for label in ("exon", "intron", "promoter"):
        for rep in ("raw", "sae"):
            real, shuffled = _scores(result, label, rep), _scores(result, label, f"shuffled_{rep}")
            assert real.loc["auroc", "ci_low"] > shuffled.loc["auroc", "ci_high"], (label, rep)
            # at chance: a label-shuffled CV probe sits at or slightly below 0.5 (its folds' class balances mirror)
            assert abs(shuffled.loc["auroc", "score"] - 0.5) < 0.04, (label, rep)
            assert real.loc["average_precision", "score"] > real.loc["average_precision", "chance"]
        needed = result.summary["targets"][label]["sae_features_needed"]
        assert needed is None or 1 <= needed <= 256
    assert result.probes[("exon", "sae")].sae["d_sae"] == 256
