"""Derive the demo's sample sheet and regions from data/example/ (run once; the outputs are committed).

Usage (from the repository root): python pipelines/config/make_demo_inputs.py

- demo_samples.tsv: 300 of the 1,092 samples, balanced over the super-populations: 30 per European
  population (CEU, FIN, GBR, TSI; all with GEUVADIS expression, so 120 samples enter the association) and
  20 per population of AFR, AMR and EAS (the audit sees all four super-populations). Within a population
  the first samples in ID order are taken, so the choice is deterministic.
- demo_regions.bed: 512 bases inside each 8 kb TSS window of data/example/regions.bed, centred on the
  window's commonest variant (the example VCF is thinned to ~1 variant per 2.5 kb, so 512 bases at the
  window's centre would hold none and every sample's sequence would be the reference). The demo embeds
  300 x 2 haplotypes x 3 regions x 512 bases = 0.92 M tokens (~0.47 GB float32 store).
"""

import csv
from collections import defaultdict
from pathlib import Path

import pysam

root = Path(__file__).resolve().parents[2]
example = root / "data" / "example"
here = Path(__file__).resolve().parent

PER_POP = {"EUR": 30, "AFR": 20, "AMR": 20, "EAS": 20}
HALF_WIDTH = 256

with open(example / "samples.tsv", newline="") as fh:
    reader = csv.DictReader(fh, delimiter="\t")
    fields = reader.fieldnames
    rows = list(reader)
by_pop = defaultdict(list)
for row in sorted(rows, key=lambda r: r["sample"]):
    has_expression = all(row[c] != "NA" for c in fields if c.startswith("expr_"))
    if row["super_pop"] == "EUR" and not has_expression:
        continue  # Europeans without expression add nothing the association can use
    by_pop[(row["super_pop"], row["pop"])].append(row)
chosen = []
for (super_pop, _pop), members in sorted(by_pop.items()):
    chosen += members[: PER_POP[super_pop]]
with open(here / "demo_samples.tsv", "w", newline="") as fh:
    writer = csv.DictWriter(fh, fieldnames=fields, delimiter="\t", lineterminator="\n")
    writer.writeheader()
    writer.writerows(sorted(chosen, key=lambda r: r["sample"]))


def alt_frequency(record) -> float:
    calls = [a for s in record.samples.values() for a in s["GT"] if a is not None]
    return sum(a > 0 for a in calls) / max(len(calls), 1)


vcf = pysam.VariantFile(str(example / "genotypes" / "1kg_phase1_chr22_16-22Mb.vcf.gz"))
with open(example / "regions.bed") as src, open(here / "demo_regions.bed", "w") as dst:
    for line in src:
        contig, start, end, name, score, strand = line.rstrip("\n").split("\t")
        lo, hi = int(start) + HALF_WIDTH, int(end) - HALF_WIDTH  # the 512 bases stay inside the window
        inside = [r for r in vcf.fetch(contig, lo, hi) if lo <= r.start < hi]
        centre = max(inside, key=alt_frequency).start if inside else (int(start) + int(end)) // 2
        dst.write(f"{contig}\t{centre - HALF_WIDTH}\t{centre + HALF_WIDTH}\t{name}\t{score}\t{strand}\n")
print(f"{len(chosen)} samples -> demo_samples.tsv; regions -> demo_regions.bed")
