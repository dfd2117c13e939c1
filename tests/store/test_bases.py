"""Format 0.3.0 keeps the bases: base.seq / base.ref round-trip, digests, and a resume that checks them."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from store_records import random_records
from synthetic import REF_SEQ, row, write_reference, write_vcf

from genolens.errors import ConfigError
from genolens.io.fasta import read_fasta
from genolens.io.haplotypes import build_haplotypes
from genolens.io.records import SequenceRecord
from genolens.io.regions import Region
from genolens.store import VERSION, ActivationStore, StoreConfig, write_store

COMPLEMENT = str.maketrans("ACGT", "TGCA")


def _config(**kw) -> StoreConfig:
    base = {"model": "hyenadna-tiny", "family": "hyenadna", "layers": (1,), "hidden_size": 128, "shard_size": 1500}
    return StoreConfig(**{**base, **kw})


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_plain_fasta_bases_round_trip(hyena, tmp_path):
    fasta = tmp_path / "in.fa"
    fasta.write_text(">a\nacgtNNACGTacgtRA\n>b\nGGGATTACA\n>c\nTTTTGCAAC\n")  # soft-masked, N, an IUPAC code
    records = read_fasta(fasta)
    write_store(records, hyena, tmp_path / "st", config=_config(shard_size=16))
    store = ActivationStore(tmp_path / "st")
    assert store.version == VERSION == "0.4.0" and store.has_bases and store.n_shards == 2
    assert store.bases("a") == "ACGTNNACGTACGTNA"  # what the model read: upper-cased, R -> N
    for rec in records:
        assert store.bases(rec.id) == rec.sequence
        assert store.base_ref(rec.id).tolist() == [-1] * len(rec)  # no coordinates
    digests = store.sequences.set_index("id")["sha256"]
    assert digests["b"] == hashlib.sha256(b"GGGATTACA").hexdigest()
    assert dict(store.bases_by_id()) == {r.id: r.sequence for r in records}
    assert store.read(1, "base.seq").numpy().tobytes() == b"GGGATTACATTTTGCAAC"  # shard 1: b then c
    with pytest.raises(KeyError, match="'zz' is not in the store"):
        store.bases("zz")


def test_haplotype_bases_and_reference_positions(hyena, tmp_path):
    """SNV, insertion and deletion, on both strands: bases and positions as built, and as the reference says."""
    ref = write_reference(tmp_path)
    vcf = write_vcf(tmp_path, [row(3, "G", "T", "1|0"), row(10, "C", "CAAA", "1|0"), row(40, "AAAT", "A", "0|1")],
                    ["S1"])
    regions = [Region("chrT", 0, 60, name="fwd"), Region("chrT", 5, 50, name="rev", strand="-")]
    records = list(build_haplotypes(ref, vcf, regions))
    write_store(records, hyena, tmp_path / "st", config=_config(shard_size=100))
    store = ActivationStore(tmp_path / "st")
    assert store.n_shards == 2
    upper = REF_SEQ.upper()
    for rec in records:
        bases, pos = store.bases(rec.id), store.base_ref(rec.id)
        assert bases == rec.sequence
        np.testing.assert_array_equal(pos, rec.coords.ref_pos)
        mapped = np.flatnonzero(pos >= 0)  # each mapped base is the reference's, bar the SNV (ref 2: G>T on hap 1)
        plus = "".join(("T" if p == 2 and rec.haplotype == 1 else upper[p]) for p in pos[mapped])
        assert "".join(bases[i] for i in mapped) == (plus if rec.coords.strand == "+" else plus.translate(COMPLEMENT))
        inserted = "".join(bases[i] for i in np.flatnonzero(pos == -1))
        assert inserted == ("AAA" if rec.haplotype == 1 and rec.coords.strand == "+" else
                            "TTT" if rec.haplotype == 1 else "")
        deleted = {40, 41, 42} & set(pos.tolist())
        assert deleted == (set() if rec.haplotype == 2 else {40, 41, 42})
        # the row-level reference columns agree with the per-base ones
        entry = store.sequences.set_index("id").loc[rec.id]
        lo, n = int(entry.row_offset), int(entry.rows)
        spans = store.read(int(entry.shard), "row.span")[lo : lo + n].numpy()
        row_ref = store.read(int(entry.shard), "row.ref")[lo : lo + n].numpy()
        np.testing.assert_array_equal(row_ref[:, 0], pos[spans[:, 0]])


def _interrupt(records, hyena, out: Path, *, after: int) -> None:
    class Stop(Exception):
        pass

    def stop(n_seq, n_tok, calls=[]):  # noqa: B006 - a counter kept across calls on purpose
        calls.append(n_seq)
        if len(calls) == after:
            raise Stop

    with pytest.raises(Stop):
        write_store(records, hyena, out, config=_config(shard_size=800), on_group=stop)


def test_resume_refuses_a_changed_sequence_under_the_same_id(hyena, tmp_path):
    records = random_records(9, seed=2)
    write_store(records, hyena, tmp_path / "once", config=_config(shard_size=800))
    _interrupt(records, hyena, tmp_path / "st", after=2)
    assert ActivationStore(tmp_path / "st", partial=True).n_shards == 2
    old = records[1]  # in the first shard, already written
    flipped = old.sequence[:7] + ("A" if old.sequence[7] != "A" else "C") + old.sequence[8:]
    changed = [*records[:1], SequenceRecord(old.id, flipped, "dna", coords=old.coords), *records[2:]]
    with pytest.raises(ConfigError) as err:
        write_store(changed, hyena, tmp_path / "st", config=_config(shard_size=800))
    message = str(err.value)
    assert "record 's1': sequence changed since the interrupted run embedded it under this ID" in message
    assert "use a new --out, or delete this store" in message
    partial = ActivationStore(tmp_path / "st", partial=True)
    assert partial.n_shards == 2 and not partial.complete
    # the unchanged input still resumes, to the bytes of a single run
    summary = write_store(records, hyena, tmp_path / "st", config=_config(shard_size=800))
    assert summary.shards_skipped == 2
    assert _snapshot(tmp_path / "st") == _snapshot(tmp_path / "once")
