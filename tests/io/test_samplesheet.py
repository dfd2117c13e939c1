"""Sample sheets: types, missing values, reconciliation with the VCF."""

from __future__ import annotations

import pytest

from genolens.errors import InputFormatError, SampleMismatchError
from genolens.io.samplesheet import match_samples, read_sample_sheet


def _sheet(tmp_path, text, name="s.tsv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_types_and_missing_values(tmp_path):
    df = read_sample_sheet(
        _sheet(tmp_path, "# comment\nsample\tage\tstatus\tpop\n"
               "A\t30\tcase\tGBR\nB\tNA\tcontrol\tYRI\nC\t41.5\t\tGBR\n"),
        numeric=["age"], binary=["status"], categorical=["pop"],
    )
    assert list(df.index) == ["A", "B", "C"]
    assert df["age"].isna().tolist() == [False, True, False] and df.loc["C", "age"] == 41.5
    assert df["status"].tolist()[:2] == [0.0, 1.0] and df["status"].isna().iloc[2]  # sorted labels: case=0
    assert str(df["pop"].dtype) == "category"


def test_csv_and_custom_id_column(tmp_path):
    df = read_sample_sheet(_sheet(tmp_path, "iid,bmi\nX,22.5\nY,30\n", name="s.csv"), id_column="iid", numeric=["bmi"])
    assert df.loc["Y", "bmi"] == 30.0


def test_a_byte_order_mark_is_read_past(tmp_path):
    """Spreadsheets export 'UTF-8 with BOM': the first column must still be 'sample', not '\\ufeffsample'."""
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffsample,bmi\nX,22.5\n".encode())
    df = read_sample_sheet(path, numeric=["bmi"])
    assert df.index.name == "sample" and df.loc["X", "bmi"] == 22.5


def test_numbers_with_a_decimal_comma_are_an_error_not_text(tmp_path):
    with pytest.raises(InputFormatError, match=r"line 4: column 'bmi' holds numbers with a decimal comma \('22,5'\)"):
        read_sample_sheet(_sheet(tmp_path, "sample\tbmi\tnote\nX\t21\ta,b\nY\tNA\tc\nZ\t22,5\td\n"))
    df = read_sample_sheet(_sheet(tmp_path, "sample\tnote\nX\t1,2\nY\tsee 3,4\n"))  # text with commas stays text
    assert df["note"].tolist() == ["1,2", "see 3,4"]


def test_binary_with_three_levels_rejected(tmp_path):
    with pytest.raises(InputFormatError, match="3 distinct values"):
        read_sample_sheet(_sheet(tmp_path, "sample\ty\nA\ta\nB\tb\nC\tc\n"), binary=["y"])


def test_match_samples_reports_both_sides(tmp_path):
    df = read_sample_sheet(_sheet(tmp_path, "sample\tx\nA\t1\nB\t2\nZ\t3\n"))
    with pytest.raises(SampleMismatchError, match="1 sample.*not in the VCF: Z"):
        match_samples(df, ["A", "B", "C"])
    m = match_samples(df, ["A", "B", "C"], on_missing="warn")
    assert (m.common, m.only_in_sheet, m.only_in_vcf) == (["A", "B"], ["Z"], ["C"])
    with pytest.raises(SampleMismatchError, match="no sample"):
        match_samples(df, ["Q"], on_missing="warn")
