#!/usr/bin/env bash
# Derive the expected personal haplotypes once with bcftools consensus (Debian bcftools 1.16,
# samtools 1.16.1) from the 1000 Genomes example bundled in data/example (the same files as the team's
# shared/data/1kg_chr22), for tests/io/test_haplotypes_bcftools.py.
# Run from this folder: bash make_expected.sh [../../../data/example]
set -euo pipefail
D=${1:-../../../data/example}
REF=$D/reference/GRCh37_chr22_1-22000000.fa.gz
VCF=$D/genotypes/1kg_phase1_v3_chr22_thinned19773_1092samples.vcf.gz
out=expected_haplotypes.fa
: > "$out"
tmp=$(mktemp -d)
while read -r region; do
  samtools faidx "$REF" "$region" > "$tmp/r.fa"
  while read -r sample; do
    for hap in 1 2; do
      echo ">$sample|hap$hap|$region" >> "$out"
      bcftools consensus -s "$sample" -H "$hap" -f "$tmp/r.fa" "$VCF" 2>/dev/null | grep -v '^>' >> "$out"
    done
  done < samples.txt
done < regions.txt
gzip -nf "$out"
rm -r "$tmp"
bcftools --version | head -1 > VERSION.txt
