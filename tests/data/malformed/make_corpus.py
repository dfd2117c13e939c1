"""Write the malformed-input corpus (run once; the files are committed).

Each file is broken in one way; tests/cli/test_malformed.py expects exit status 2
and a message naming the problem for each. Text files are written here; the VCF
cases need bgzip + tabix, done with pysam.
"""

import gzip
import shutil
from pathlib import Path

import pysam

here = Path(__file__).parent
REF = "ACGTACGTACGTACGTACGT" + "acgtacgtac" + "GGGGCCCCAAAATTTTGGGGCCCCAAAATT"

text = {
    "header_only.fa": ">seq1\nACGTACGT\n>seq2\n",
    "bad_chars.fa": ">seq1\nACGTAC7TACGT\n",
    "gap_chars.fa": ">seq1\nACGT--ACGT\n",
    "duplicate_ids.fa": ">seq1\nACGT\n>seq2\nACGT\n>seq1\nTTTT\n",
    "empty.fa": "",
    "no_header.fa": "ACGTACGT\nACGT\n",
    "empty_id.fa": ">\nACGTACGT\n",
    "reads.fastq": "@read1\nACGT\n+\nIIII\n",
    "mixed_alphabet.fa": ">dna\nACGTACGTACGTACGT\n>prot\nMKTAYIAKQRQISFVKSHFSRQ\n",
    "ambiguous.fa": ">seq1\nACGTRYACGT\n",
    "internal_stop.fa": ">p1\nMKTAY*IAKQR\n",
    "ref.fa": ">chrT\n" + REF + "\n",
    "regions_bad.bed": "chrT\t10\t20\nchrT\tten\t30\n",
    "regions_outside.bed": "chrT\t10\t20\nchrT\t50\t80\n",
    "regions_few_columns.bed": "chrT\t10\n",
    "sheet_duplicate.tsv": "sample\tage\nS1\t30\nS1\t40\n",
    "sheet_wrong_type.tsv": "sample\tage\tsex\nS1\t30\tF\nS2\tforty\tM\n",
    "sheet_missing_sample.tsv": "sample\tage\nS1\t30\nS9\t40\n",
    "sheet_no_id.tsv": "id\tage\nS1\t30\n",
    "sheet_ragged.csv": "sample,age\nS1,30\nS2,40,extra\n",
    "sheet_decimal_comma.tsv": "sample\tbmi\nS1\t21\nS2\t23,5\n",
}
for name, body in text.items():
    (here / name).write_text(body)
pysam.faidx(str(here / "ref.fa"))

# a gzip stream cut in half
data = gzip.compress((">seq1\n" + "ACGT" * 5000 + "\n").encode())
(here / "truncated.fa.gz").write_bytes(data[: len(data) // 2])
# binary content
(here / "binary.fa").write_bytes(bytes(range(256)) * 4)

HEADER = (
    "##fileformat=VCFv4.2\n##contig=<ID=chrT,length=60>\n"
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\tS2\n"
)
vcfs = {
    "good": "chrT\t5\t.\tA\tC\t50\tPASS\t.\tGT\t0|1\t1|1\n",
    "ref_mismatch": "chrT\t5\t.\tG\tC\t50\tPASS\t.\tGT\t0|1\t1|1\n",
    "unphased": "chrT\t5\t.\tA\tC\t50\tPASS\t.\tGT\t0/1\t1|1\n",
}
for name, body in vcfs.items():
    plain = here / f"{name}.vcf"
    plain.write_text(HEADER + body)
    pysam.tabix_index(str(plain), preset="vcf", force=True)
# bgzipped but not indexed
shutil.copy(here / "good.vcf.gz", here / "noindex.vcf.gz")
(here / "not_a_vcf.vcf").write_text("this is not a VCF\n")
# a reference compressed with plain gzip, which cannot be indexed
(here / "ref_plain_gzip.fa.gz").write_bytes(gzip.compress((">chrT\n" + REF + "\n").encode()))
