"""Build data/proteins/ from the team's shared public protein data (run once; outputs are committed).

Usage: python data/proteins/make_proteins.py ../shared/data

Writes, for the InterPLM-style replication (``scripts/interplm_replication.py``):

* ``swissprot.fa`` and ``swissprot_features.tsv``: the 125 Swiss-Prot entries (those of at most
  MAX_LEN residues, so no protein is tiled) and their feature tables, concepts = UniProt feature keys.
  Left out: keys that describe the entry or its sequence variants rather than the protein (VARIANT,
  CONFLICT, CHAIN, VAR_SEQ, MUTAGEN, INIT_MET, NON_TER, NON_CONS, NON_STD, UNSURE). Bonds (DISULFID,
  CROSSLNK) are written as their two bonded residues, not the span between them.
* ``bindembed21.fa`` and ``bindembed21_binding.tsv``: N_BIND proteins of the bindEmbed21 development
  set (lengths 50..MAX_LEN, a seeded sample) and their binding residues as concepts ``metal_binding``,
  ``nucleic_binding``, ``small_molecule_binding`` (one row per residue).
"""

from __future__ import annotations

import csv
import random
import sys
from pathlib import Path

HERE = Path(__file__).parent
MAX_LEN = 1000
N_BIND = 400
SEED = 17
SKIP = {"VARIANT", "CONFLICT", "CHAIN", "VAR_SEQ", "MUTAGEN", "INIT_MET", "NON_TER", "NON_CONS", "NON_STD", "UNSURE"}
BONDS = {"DISULFID", "CROSSLNK"}
BINDING = {"metal": "metal_binding", "nuclear": "nucleic_binding", "small": "small_molecule_binding"}


def write_fasta(path: Path, records: list[tuple[str, str, str]]) -> None:
    with path.open("w") as fh:
        for rid, desc, seq in records:
            fh.write(f">{rid} {desc}\n")
            for i in range(0, len(seq), 60):
                fh.write(seq[i : i + 60] + "\n")


def swissprot(shared: Path) -> None:
    src = shared / "proteins" / "swissprot"
    proteins, features = [], []
    for prefix in ("swissprot_100", "uniprot_25"):
        with (src / f"{prefix}_proteins.tsv").open(newline="") as fh:
            proteins += [r for r in csv.DictReader(fh, delimiter="\t") if len(r["sequence"]) <= MAX_LEN]
        with (src / f"{prefix}_features.tsv").open(newline="") as fh:
            features += list(csv.DictReader(fh, delimiter="\t"))
    kept = {r["entry_name"] for r in proteins}
    write_fasta(HERE / "swissprot.fa", [(r["entry_name"], r["accession"], r["sequence"]) for r in proteins])
    rows = []
    for f in features:
        key, start, end = f["feature"], f["start"], f["end"]
        if f["entry_name"] not in kept or key in SKIP or "?" in start + end or not start or not end:
            continue
        if key in BONDS and start != end:
            rows += [(f["entry_name"], key, start, start), (f["entry_name"], key, end, end)]
        else:
            rows.append((f["entry_name"], key, start, end))
    with (HERE / "swissprot_features.tsv").open("w", newline="") as fh:
        w = csv.writer(fh, delimiter="\t", lineterminator="\n")
        w.writerow(["entry_name", "feature", "start", "end"])
        w.writerows(rows)
    print(f"swissprot: {len(proteins)} proteins, {len(rows)} feature rows")


def bindembed21(shared: Path) -> None:
    src = shared / "proteins" / "bindembed21" / "development_set"
    seqs: dict[str, str] = {}
    for line in (src / "all.fasta").read_text().splitlines():
        if line.startswith(">"):
            key = line[1:].strip()
            seqs[key] = ""
        elif line.strip():
            seqs[key] += line.strip()
    pool = sorted(k for k, s in seqs.items() if 50 <= len(s) <= MAX_LEN)
    chosen = sorted(random.Random(SEED).sample(pool, N_BIND))
    rows = []
    for kind, concept in BINDING.items():
        for line in (src / f"binding_residues_2.5_{kind}.txt").read_text().splitlines():
            acc, _, residues = line.partition("\t")
            if acc in chosen and residues.strip():
                rows += [(acc, concept, int(r), int(r)) for r in residues.split(",")]
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    write_fasta(HERE / "bindembed21.fa", [(k, "bindEmbed21", seqs[k]) for k in chosen])
    with (HERE / "bindembed21_binding.tsv").open("w", newline="") as fh:
        w = csv.writer(fh, delimiter="\t", lineterminator="\n")
        w.writerow(["sequence_id", "concept", "start", "end"])
        w.writerows(rows)
    print(f"bindembed21: {len(chosen)} proteins, {len(rows)} binding residues")


if __name__ == "__main__":
    shared = Path(sys.argv[1]).resolve()
    swissprot(shared)
    bindembed21(shared)
