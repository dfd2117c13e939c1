"""Choose the dense configuration's gene windows from data/dense/ (run once; the output is committed).

Usage (from the repository root): python pipelines/config/make_dense_inputs.py

dense_regions.bed: the promoter and gene-body windows (data/dense/gene_windows.bed) of the genes whose two
windows each have at least MIN_KNOWN of their reference bases known (not N) in the partial reference. The
rest of each window is left to the N policy of the run (trim). The choice looks at the reference only,
never at the genotypes or the expression. Sized for time: 330 samples x 2 haplotypes x the windows' bases
are the tokens embedded (about 8.8 M for 4 genes, after trimming).
"""

from pathlib import Path

import pysam

root = Path(__file__).resolve().parents[2]
dense = root / "data" / "dense"
here = Path(__file__).resolve().parent
MIN_KNOWN = 0.9

with pysam.FastaFile(str(dense / "reference" / "GRCh37_chr22_50-51.3Mb.fa.gz")) as fa:
    windows: dict[str, list[tuple[str, float]]] = {}
    for line in (dense / "gene_windows.bed").read_text().splitlines(keepends=True):
        contig, start, end, name = line.split("\t")[:4]
        bases = fa.fetch(contig, int(start), int(end)).upper()
        windows.setdefault(name.rsplit("_", 1)[0], []).append((line, 1 - bases.count("N") / len(bases)))
chosen = {gene: rows for gene, rows in windows.items() if all(known >= MIN_KNOWN for _, known in rows)}
with open(here / "dense_regions.bed", "w") as out:
    for rows in chosen.values():
        out.writelines(line for line, _ in rows)
print(f"{len(chosen)} of {len(windows)} genes: " + ", ".join(
    f"{gene} ({', '.join(f'{known:.0%}' for _, known in rows)})" for gene, rows in chosen.items()))
