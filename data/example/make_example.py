"""Build data/example/ from the team's shared public data (run once; outputs are committed).

Usage: python data/example/make_example.py ../shared/data
Needs bcftools (Debian 1.16) and pysam. See SOURCES.md for origins and licences.
"""

import csv
import gzip
import shutil
import subprocess
import sys
from pathlib import Path

import pysam

shared = Path(sys.argv[1]).resolve()
here = Path(__file__).resolve().parent
kg = shared / "1kg_chr22"

# 1. reference: GRCh37 chr22:1-22,000,000, bgzipped + indexes (unchanged copy)
(here / "reference").mkdir(exist_ok=True)
for suffix in ("", ".fai", ".gzi"):
    shutil.copy(kg / "reference" / f"GRCh37_chr22_1-22000000.fa.gz{suffix}", here / "reference")

# 2. genotypes: the part of the thinned 1000 Genomes phase 1 VCF that the reference covers
(here / "genotypes").mkdir(exist_ok=True)
vcf_in = kg / "genotypes" / "1kg_phase1_v3_chr22_thinned19773_1092samples.vcf.gz"
vcf_out = here / "genotypes" / "1kg_phase1_chr22_16-22Mb.vcf.gz"
subprocess.run(["bcftools", "view", "-r", "22:1-22000000", "-Oz", "-o", str(vcf_out), str(vcf_in)], check=True)
subprocess.run(["bcftools", "index", "-t", "-f", str(vcf_out)], check=True)
shutil.copy(kg / "genotypes" / "samples_1092_population_panel.tsv", here / "genotypes")
# and the whole chromosome's thinned VCF (unchanged copy): genotype PCs need variants beyond the reference window
for suffix in ("", ".tbi"):
    shutil.copy(kg / "genotypes" / f"1kg_phase1_v3_chr22_thinned19773_1092samples.vcf.gz{suffix}", here / "genotypes")

# 3. annotation: RefSeq genes GTF rows that start before 22.1 Mb
(here / "annotation").mkdir(exist_ok=True)
with gzip.open(kg / "annotation" / "hg19_chr22_refseq_genes.gtf.gz", "rt") as src, \
        gzip.open(here / "annotation" / "hg19_chr22_refseq_16-22Mb.gtf.gz", "wt", compresslevel=9) as dst:
    for line in src:
        if int(line.split("\t")[3]) < 22_100_000:
            dst.write(line)

# 4. sample sheet: every VCF sample with population, sex and GEUVADIS expression of three genes
#    whose TSS lies in the reference window (NA where a sample has no expression data)
genes = {"ENSG00000093072.10": "ADA2", "ENSG00000100033.11": "PRODH", "ENSG00000099940.6": "SNAP29"}
expr: dict[str, dict[str, str]] = {g: {} for g in genes}
tss: dict[str, int] = {}
with gzip.open(kg / "expression_geuvadis" / "GEUVADIS_EUR373_chr22_gene_expression.bed.gz", "rt") as fh:
    header = fh.readline().rstrip("\n").split("\t")
    for line in fh:
        cols = line.rstrip("\n").split("\t")
        if cols[3] in genes:
            tss[cols[3]] = int(cols[1])
            expr[cols[3]] = dict(zip(header[4:], cols[4:], strict=True))
with open(kg / "genotypes" / "samples_1092_population_panel.tsv") as fh:
    panel = list(csv.DictReader(fh, delimiter="\t"))
with open(here / "samples.tsv", "w") as out:
    out.write("\t".join(["sample", "pop", "super_pop", "sex", *(f"expr_{genes[g]}" for g in genes)]) + "\n")
    for row in panel:
        values = [expr[g].get(row["sample"], "NA") for g in genes]
        out.write("\t".join([row["sample"], row["pop"], row["super_pop"], row["gender"], *values]) + "\n")

# 5. regions: 8 kb around each of those genes' TSS (BED, 0-based), named by gene
with open(here / "regions.bed", "w") as out:
    for g, name in genes.items():
        out.write(f"22\t{tss[g] - 4000}\t{tss[g] + 4000}\t{name}_TSS\t0\t+\n")

# 6. proteins: the first 48 therapeutic antibody heavy chains (VH) of Thera-SAbDab
with open(shared / "antibodies" / "therasabdab" / "TheraSAbDab_SeqStruc_OnlineDownload.csv", newline="") as fh:
    rows = [r for r in csv.DictReader(fh) if r["HC"] and r["HC"] != "na"][:48]
with open(here / "antibodies_vh.fa", "w") as out:
    for r in rows:
        origin = (r["Genetics (Bispecifics delimited with semicolon)"] or "unknown").replace(" ", "_")
        out.write(f">{r['Therapeutic']} origin={origin}\n{r['HC']}\n")

# 7. JASPAR 2024 CORE vertebrates non-redundant PFMs (unchanged copy)
(here / "jaspar").mkdir(exist_ok=True)
for suffix in ("pfms.jaspar", "meta.tsv"):
    name = f"JASPAR2024_CORE_vertebrates_nonredundant_{suffix}"
    shutil.copy(shared / "jaspar" / name, here / "jaspar")
# 8. GEUVADIS expression (fastQTL BED layout) of the genes whose TSS lies in the reference window, and the
#    study's covariates (unchanged copy); bgzipped and tabix-indexed with pysam
(here / "expression").mkdir(exist_ok=True)
plain = here / "expression" / "GEUVADIS_EUR373_chr22_16-22Mb_expression.bed"
with gzip.open(kg / "expression_geuvadis" / "GEUVADIS_EUR373_chr22_gene_expression.bed.gz", "rt") as src, \
        open(plain, "w") as dst:
    dst.write(src.readline())
    dst.writelines(line for line in src if int(line.split("\t")[2]) <= 22_000_000)
pysam.tabix_compress(str(plain), f"{plain}.gz", force=True)
pysam.tabix_index(f"{plain}.gz", preset="bed", force=True)
plain.unlink()
shutil.copy(kg / "expression_geuvadis" / "GEUVADIS_EUR373_covariates.txt.gz", here / "expression")
print("done")
