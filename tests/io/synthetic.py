"""Small synthetic reference + VCF inputs written at test time."""

from __future__ import annotations

from pathlib import Path

import pysam

# 60 bases on contig "chrT"; lowercase = soft-masked (bases 21-30, 1-based).
REF_SEQ = "ACGTACGTACGTACGTACGT" + "acgtacgtac" + "GGGGCCCCAAAATTTTGGGGCCCCAAAATT"

VCF_HEADER = """##fileformat=VCFv4.2
##contig=<ID=chrT,length=60>
##FILTER=<ID=PASS,Description="All filters passed">
##FILTER=<ID=LowQual,Description="Low quality">
##INFO=<ID=END,Number=1,Type=Integer,Description="End">
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t{samples}
"""


def write_reference(tmp: Path, seq: str = REF_SEQ, name: str = "chrT") -> Path:
    fa = tmp / "ref.fa"
    fa.write_text(f">{name}\n" + "\n".join(seq[i : i + 25] for i in range(0, len(seq), 25)) + "\n")
    pysam.faidx(str(fa))
    return fa


def write_vcf(tmp: Path, rows: list[str], samples: list[str], *, index: bool = True, name: str = "v.vcf") -> Path:
    vcf = tmp / name
    vcf.write_text(VCF_HEADER.format(samples="\t".join(samples)) + "".join(r + "\n" for r in rows))
    if not index:
        return vcf
    return Path(pysam.tabix_index(str(vcf), preset="vcf", force=True))


def row(pos: int, ref: str, alt: str, *gts: str, filt: str = "PASS", info: str = ".") -> str:
    return "\t".join(["chrT", str(pos), ".", ref, alt, "50", filt, info, "GT", *gts])
