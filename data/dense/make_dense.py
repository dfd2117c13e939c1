"""Build data/dense/ from the team's shared public data (run once; outputs are committed).

Usage: python data/dense/make_dense.py ../shared/data
Needs pysam and numpy. See SOURCES.md for origins and licences.

Dense 1000 Genomes phase 3 genotypes over GRCh37 chr22:50.24-51.24 Mb, the part of a partial GRCh37
reference that covers them (N where the reference is unknown), GEUVADIS expression of the 29 genes whose
TSS lies there, a sample sheet and per-gene windows (promoter and start of the gene body).
"""

import csv
import gzip
import shutil
import sys
from pathlib import Path

import numpy as np
import pysam

shared = Path(sys.argv[1]).resolve()
here = Path(__file__).resolve().parent
dense, kg = shared / "1kg_chr22_dense", shared / "1kg_chr22"
example = here.parent / "example"

LO, HI = 50_244_251, 51_244_237          # the genotypes' span (1-based, inclusive)
REF_FROM = 50_000_000                    # reference bases kept from here (0-based) to the contig's end
PROMOTER = 1000                          # promoter window: TSS - 1 kb .. TSS + 1 kb
BODY = 2000                              # gene-body window: the next 2 kb downstream of the promoter window

# 1. genotypes: the 445 GEUVADIS samples of phase 3 over the region (unchanged copy)
(here / "genotypes").mkdir(exist_ok=True)
vcf_name = "chr22_50.24-51.24Mb.1kgp3.geuvadis445.phased.vcf.gz"
for suffix in ("", ".tbi"):
    shutil.copy(dense / "genotypes" / f"{vcf_name}{suffix}", here / "genotypes")

# 2. reference: contig 22 at its real length and coordinates; the partial reference's bases from 50 Mb on,
#    N before (the bundled data/example reference holds 1-22 Mb); bgzipped with .fai and .gzi
(here / "reference").mkdir(exist_ok=True)
with pysam.FastaFile(str(dense / "reference" / "GRCh37_chr22_partial.fa.gz")) as fa:
    length = fa.get_reference_length("22")
    tail = fa.fetch("22", REF_FROM, length)
plain = here / "reference" / "GRCh37_chr22_50-51.3Mb.fa"
with open(plain, "w") as out:
    out.write(">22\n")
    seq = "N" * REF_FROM + tail
    out.writelines(seq[i : i + 60] + "\n" for i in range(0, len(seq), 60))
pysam.tabix_compress(str(plain), f"{plain}.gz", force=True)
plain.unlink()
pysam.faidx(f"{plain}.gz")

# 3. genes: GEUVADIS genes whose TSS lies in the genotypes' span; strand and symbol from a RefSeq transcript
#    whose TSS is near (GEUVADIS gives Ensembl IDs and the TSS only). Matched one to one, nearest pairs first:
#    a symbol already matched more closely to another gene is not reused (ENSG00000184164 lies 291 bp from
#    ALG12's TSS, which ENSG00000182858 matches exactly, and 463 bp from CRELD2's: it is CRELD2, on +). A gene
#    left without a symbol within MAX_NAME_DISTANCE keeps the nearest transcript's strand and no symbol.
transcripts = []
with open(kg / "annotation" / "hg19_chr22_refseq_transcripts.bed") as fh:
    for line in fh:
        c = line.rstrip("\n").split("\t")
        start, end, strand = int(c[1]), int(c[2]), c[5]
        transcripts.append((start if strand == "+" else end - 1, strand, c[3].split("|")[-1], c[3].split("|")[0]))
tss_pos = np.array([t[0] for t in transcripts])
rows, genes = [], []
with gzip.open(kg / "expression_geuvadis" / "GEUVADIS_EUR373_chr22_gene_expression.bed.gz", "rt") as fh:
    header = fh.readline()
    for line in fh:
        c = line.rstrip("\n").split("\t")
        if LO - 1 <= int(c[1]) < HI:
            rows.append(line)
            nearest = transcripts[int(np.argmin(np.abs(tss_pos - int(c[1]))))]
            genes.append({"gene_id": c[3], "symbol": "", "tss": int(c[1]), "strand": nearest[1],
                          "refseq": nearest[3], "refseq_tss_distance": abs(nearest[0] - int(c[1])),
                          "expression": dict(zip(header.rstrip("\n").split("\t")[4:], c[4:], strict=True))})
MAX_NAME_DISTANCE = 1000
pairs = sorted((abs(t[0] - g["tss"]), i, j) for i, g in enumerate(genes) for j, t in enumerate(transcripts)
               if abs(t[0] - g["tss"]) <= MAX_NAME_DISTANCE)  # ties: the transcript listed first
taken: set[str] = set()
for distance, i, j in pairs:
    _, strand, symbol, refseq = transcripts[j]
    if genes[i]["symbol"] or symbol in taken:
        continue
    genes[i].update(symbol=symbol, strand=strand, refseq=refseq, refseq_tss_distance=distance)
    taken.add(symbol)
with open(here / "genes.tsv", "w") as out:
    out.write("gene_id\tsymbol\ttss\tstrand\trefseq_transcript\trefseq_tss_distance\n")
    for g in genes:
        out.write(f"{g['gene_id']}\t{g['symbol']}\t{g['tss']}\t{g['strand']}\t{g['refseq']}\t"
                  f"{g['refseq_tss_distance']}\n")

# 4. expression of those genes (fastQTL BED layout, as data/example/expression), bgzipped and indexed
(here / "expression").mkdir(exist_ok=True)
plain = here / "expression" / "GEUVADIS_EUR373_chr22_50.24-51.24Mb_expression.bed"
with open(plain, "w") as out:
    out.write(header)
    out.writelines(rows)
pysam.tabix_compress(str(plain), f"{plain}.gz", force=True)
pysam.tabix_index(f"{plain}.gz", preset="bed", force=True)
plain.unlink()

# 5. gene windows (BED, 0-based): promoter TSS +- 1 kb and the next 2 kb of the gene body, strand-aware,
#    named GENEID_promoter / GENEID_body (GENEID as in the expression BED and the sample sheet's expr_GENEID)
with open(here / "gene_windows.bed", "w") as out:
    for g in sorted(genes, key=lambda g: g["tss"]):
        t, strand = g["tss"], g["strand"]
        body = (t + PROMOTER, t + PROMOTER + BODY) if strand == "+" else (t - PROMOTER - BODY, t - PROMOTER)
        out.write(f"22\t{t - PROMOTER}\t{t + PROMOTER}\t{g['gene_id']}_promoter\t0\t{strand}\n")
        out.write(f"22\t{body[0]}\t{body[1]}\t{g['gene_id']}_body\t0\t{strand}\n")

# 6. annotation: RefSeq genes GTF rows that end after 50 Mb (as data/example/annotation, other part)
(here / "annotation").mkdir(exist_ok=True)
with gzip.open(kg / "annotation" / "hg19_chr22_refseq_genes.gtf.gz", "rt") as src, \
        gzip.open(here / "annotation" / "hg19_chr22_refseq_50-51.3Mb.gtf.gz", "wt", compresslevel=9) as dst:
    dst.writelines(line for line in src if int(line.split("\t")[4]) > REF_FROM)

# 7. sample sheet: the samples with GEUVADIS expression that are in the dense VCF and also in the phase 1
#    VCF of data/example (whose whole-chromosome genotypes give the ancestry PCs), with population and sex
#    from the phase 1 panel and the expression of the genes
with pysam.VariantFile(str(here / "genotypes" / vcf_name)) as vf:
    in_dense = set(vf.header.samples)
with open(example / "genotypes" / "samples_1092_population_panel.tsv") as fh:
    panel = {r["sample"]: r for r in csv.DictReader(fh, delimiter="\t")}
with_expression = set(genes[0]["expression"])
chosen = sorted(with_expression & in_dense & set(panel))
with open(here / "samples.tsv", "w") as out:
    out.write("\t".join(["sample", "pop", "super_pop", "sex", *(f"expr_{g['gene_id']}" for g in genes)]) + "\n")
    for s in chosen:
        p = panel[s]
        out.write("\t".join([s, p["pop"], p["super_pop"], p["gender"], *(g["expression"][s] for g in genes)]) + "\n")
print(f"{len(genes)} genes, {len(chosen)} samples (expression {len(with_expression)}, "
      f"and dense VCF {len(with_expression & in_dense)}, and phase 1 {len(chosen)})")
