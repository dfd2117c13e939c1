"""The N policy on the real partial GRCh37 reference of data/dense: windows with N runs are an error by
default, or skipped, trimmed to their longest N-free stretch, or kept, and every one is counted."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import numpy as np
import pytest

from genolens.errors import ConfigError, RegionError
from genolens.io import input_records, read_bed, read_with_sidecar, write_sequences
from genolens.io.gaps import GapPolicy, GapReport, longest_run, screen_regions
from genolens.io.reference import Reference

DENSE = Path(__file__).resolve().parents[2] / "data" / "dense"
REF = DENSE / "reference" / "GRCh37_chr22_50-51.3Mb.fa.gz"
VCF = DENSE / "genotypes" / "chr22_50.24-51.24Mb.1kgp3.geuvadis445.phased.vcf.gz"
WINDOWS = {r.name: r for r in read_bed(DENSE / "gene_windows.bed")}
CLEAN = WINDOWS["ENSG00000205560.8_promoter"]      # CPT1B: reference known over the whole window
ALL_N = WINDOWS["ENSG00000100426.5_promoter"]      # ZBED4: no reference at all
PARTIAL = WINDOWS["ENSG00000184164.10_promoter"]   # CRELD2: partly N


def _bases(region) -> str:
    with gzip.open(REF, "rt") as fh:
        fh.readline()
        seq = fh.read().replace("\n", "")
    return seq[region.start : region.end].upper()


def _longest_clean(bases: str) -> tuple[int, int]:
    """Independent reference: the longest N-free stretch by regular expression (first of equals)."""
    best = max(re.finditer(r"[^N]+", bases), key=lambda m: (m.end() - m.start(), -m.start()))
    return best.start(), best.end()


def test_windows_chosen_cover_the_cases() -> None:
    assert "N" not in _bases(CLEAN) and set(_bases(ALL_N)) == {"N"}
    assert 0 < _bases(PARTIAL).count("N") < len(PARTIAL)


def test_default_is_an_error_naming_the_window() -> None:
    with Reference(REF) as ref, pytest.raises(RegionError, match="N bases") as info:
        screen_regions(ref, [CLEAN, PARTIAL])
    assert PARTIAL.name in str(info.value) and "trim" in str(info.value)


def test_trim_cuts_to_the_longest_n_free_stretch_and_counts_each_window() -> None:
    report = GapReport()
    with Reference(REF) as ref:
        kept = screen_regions(ref, [CLEAN, PARTIAL, ALL_N], policy=GapPolicy(action="trim"), report=report)
    start, end = _longest_clean(_bases(PARTIAL))
    assert [r.name for r in kept] == [CLEAN.name, PARTIAL.name]
    assert kept[0] == CLEAN
    assert (kept[1].start, kept[1].end) == (PARTIAL.start + start, PARTIAL.start + end)
    assert kept[1].strand == PARTIAL.strand == "+"  # CRELD2
    assert "N" not in _bases(kept[1])
    assert dict(report.counts) == {"without_n": 1, "trimmed": 1, "skipped_too_short": 1}
    assert report.requested == 3 and report.used == 2 and report.n_bases_after == 0
    assert report.n_bases_before == _bases(PARTIAL).count("N") + len(ALL_N)
    assert PARTIAL.name in report.examples["trimmed"][0]


def test_skip_keep_threshold_and_min_length() -> None:
    n_partial = _bases(PARTIAL).count("N")
    with Reference(REF) as ref:
        skip = GapReport()
        assert screen_regions(ref, [CLEAN, PARTIAL], policy=GapPolicy(action="skip"), report=skip) == [CLEAN]
        assert dict(skip.counts) == {"without_n": 1, "skipped": 1}
        keep = GapReport()
        assert screen_regions(ref, [PARTIAL], policy=GapPolicy(action="keep"), report=keep) == [PARTIAL]
        assert dict(keep.counts) == {"kept_with_n": 1} and keep.n_bases_after == n_partial
        tolerant = GapPolicy(action="skip", max_n_fraction=n_partial / len(PARTIAL))
        assert screen_regions(ref, [PARTIAL], policy=tolerant) == [PARTIAL]
        start, end = _longest_clean(_bases(PARTIAL))
        long_only = GapPolicy(action="trim", min_length=end - start + 1)
        with pytest.raises(RegionError, match="no window is left"):
            screen_regions(ref, [PARTIAL], policy=long_only)


@pytest.mark.parametrize("kwargs", [{"action": "drop"}, {"max_n_fraction": 1.5}, {"min_length": 0}])
def test_policy_validates(kwargs: dict) -> None:
    with pytest.raises(ConfigError):
        GapPolicy(**kwargs)


def test_longest_run() -> None:
    assert longest_run(np.array([0, 1, 1, 0, 1, 1, 1, 0], bool)) == (4, 7)
    assert longest_run(np.array([1, 1, 0, 1, 1], bool)) == (0, 2)
    assert longest_run(np.zeros(4, bool)) == (0, 0)


def test_haplotypes_with_trim_hold_no_n_and_the_report_says_which(tmp_path: Path) -> None:
    out = tmp_path / "hap.fa"
    regions = [f"22\t{r.start}\t{r.end}\t{r.name}\t0\t{r.strand}\n" for r in (CLEAN, PARTIAL, ALL_N)]
    bed = tmp_path / "w.bed"
    bed.write_text("".join(regions))
    written = write_sequences(out, reference=REF, vcf=VCF, regions=[str(bed)], samples=["HG00096", "HG00097"],
                              gaps=GapPolicy(action="trim"), progress=False)
    assert written.n == 2 * 2 * 2 and written.gaps.counts["trimmed"] == 1
    records = list(read_with_sidecar(out))
    assert all("N" not in r.sequence for r in records)
    assert {r.id.split("|")[2] for r in records} == {CLEAN.name, PARTIAL.name}
    used = read_bed(written.windows)
    assert [r.name for r in used] == [CLEAN.name, PARTIAL.name] and used[1].end - used[1].start < len(PARTIAL)
    assert {r.id.split("|")[2]: len(r.sequence) for r in records}[PARTIAL.name] == len(used[1])  # SNPs only
    windows = json.loads(written.report.read_text())["windows"]
    assert windows["windows_requested"] == 3 and windows["windows_used"] == 2
    assert windows["counts"] == {"skipped_too_short": 1, "trimmed": 1, "without_n": 1}
    assert windows["examples"]["skipped_too_short"][0].startswith(ALL_N.name)


def test_input_records_applies_the_policy_and_notes_it() -> None:
    notes: list[str] = []
    spec = PARTIAL.spec
    with pytest.raises(RegionError):
        input_records(reference=REF, regions=[spec])
    records = list(input_records(reference=REF, regions=[spec, CLEAN.spec], gaps=GapPolicy(action="skip"),
                                 notes=notes.append))
    assert [r.id for r in records] == [CLEAN.spec]
    assert len(notes) == 1 and "1 skipped" in notes[0] and "1 without n" in notes[0]
