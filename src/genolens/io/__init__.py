"""Sequences and variants in: FASTA, reference + VCF personal haplotypes, regions, variant windows,
annotations (GFF3/GTF, BED) and sample sheets. Every reader raises typed errors naming file, line and record.
"""

from genolens.io.annotations import annotation_tracks, bed_track, gff_tracks, read_gff
from genolens.io.coordmap import CoordinateMap
from genolens.io.coordtable import read_coordinate_table, read_with_sidecar, write_with_sidecar
from genolens.io.distinct import distinct_haplotypes, read_carriers, write_carriers
from genolens.io.fasta import iter_fasta, read_fasta, write_fasta
from genolens.io.gaps import GapPolicy, GapReport, screen_regions
from genolens.io.haplotypes import BuildReport, HaplotypePolicy, build_haplotypes, reference_sequences
from genolens.io.inputs import input_records
from genolens.io.records import SequenceRecord
from genolens.io.reference import Reference, contig_lengths
from genolens.io.regions import Region, parse_region, read_bed, read_regions
from genolens.io.samplesheet import (
    SampleMatch,
    SampleSheetCheck,
    check_sample_sheet,
    choose_samples,
    match_samples,
    read_sample_sheet,
)
from genolens.io.sequences import SequencesWritten, split_fasta, write_sequences, write_variant_windows
from genolens.io.vcf import VariantFile, vcf_samples
from genolens.io.windows import variant_windows

__all__ = [
    "BuildReport", "CoordinateMap", "GapPolicy", "GapReport", "HaplotypePolicy", "Reference", "Region", "SampleMatch",
    "SampleSheetCheck", "SequenceRecord", "SequencesWritten", "VariantFile", "annotation_tracks", "bed_track",
    "build_haplotypes", "check_sample_sheet", "choose_samples", "contig_lengths", "distinct_haplotypes", "gff_tracks",
    "input_records", "iter_fasta", "match_samples", "parse_region", "read_bed", "read_carriers",
    "read_coordinate_table", "read_fasta", "read_gff", "read_regions", "read_sample_sheet", "read_with_sidecar",
    "reference_sequences", "screen_regions", "split_fasta", "variant_windows", "vcf_samples", "write_carriers",
    "write_fasta", "write_sequences", "write_variant_windows", "write_with_sidecar",
]
