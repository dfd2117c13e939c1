"""Write the dense configuration's gene -> windows map from data/dense/ (run once; the output is committed).

Usage (from the repository root): python pipelines/config/make_dense_inputs.py

dense_cis_map.tsv: each gene of data/dense/genes.tsv with its promoter and gene-body windows
(``GENEID_promoter``, ``GENEID_body`` of data/dense/gene_windows.bed), so that the cis test and the genotype
baseline of each gene read the features of its own two windows. Every window is built: those over N in the
partial reference are trimmed or skipped by the run's N policy (counted in sequences.report.json), and a
gene whose two windows are both skipped has no features and is reported as skipped by the cis scan.
"""

from pathlib import Path

root = Path(__file__).resolve().parents[2]
dense = root / "data" / "dense"
here = Path(__file__).resolve().parent

rows = []
for line in (dense / "gene_windows.bed").read_text().splitlines():
    name = line.split("\t")[3]
    rows.append((name.rsplit("_", 1)[0], name))
(here / "dense_cis_map.tsv").write_text("gene_id\tregion\n" + "".join(f"{g}\t{r}\n" for g, r in rows))
print(f"{len({g for g, _ in rows})} genes, {len(rows)} windows -> {here / 'dense_cis_map.tsv'}")
