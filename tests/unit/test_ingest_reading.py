"""Reading a provider's file into text columns, whatever it is: every encoding, delimiter
and line ending the reader accepts, every way a row can be unreadable (each named with its
line, rule and text, and nothing else lost), the files it refuses outright, and what the
raw store does with hostile names and repeated files. Every file here is synthetic."""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from datetime import date, datetime, time
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings

from safestats.ingest import reading
from safestats.ingest.models import IngestJob, JobFile, JobStatus, RawFile
from safestats.ingest.rawstore import safe_name
from tests.ingest_helpers import (
    catalogue,
    current_rows,
    data_store_files,
    load,
    stores,  # noqa: F401 - fixture
    write_rows,
)

Row = tuple[int, list[str | None]]  # (line in the file, values)


def read(tmp_path: Path, data: bytes) -> tuple[reading.RawTable, list[Row]]:
    """Read ``data`` as a CSV file: the table and each record with its line number."""
    source = tmp_path / "upload"
    source.write_bytes(data)
    scratch = tmp_path / "scratch"
    scratch.mkdir(exist_ok=True)
    table = reading.read_csv(source, scratch / "raw.parquet", scratch)
    return table, records_of(table)


def records_of(table: reading.RawTable) -> list[Row]:
    rows = [row for batch in reading.batches(table) for row in batch.to_pylist()]
    lines = table.rows_of(np.array([row["_record"] for row in rows], dtype=np.int64))
    width = len(table.headers)
    return [
        (int(line), [row[f"c{i}"] for i in range(width)])
        for line, row in zip(lines, rows, strict=True)
    ]


def rejected(table: reading.RawTable) -> list[tuple[int, str, str]]:
    return [(item.row, item.rule, item.text) for item in table.rejected]


def csv_bytes(rows: list[list[str]], *, encoding: str = "utf-8", delimiter: str = ",") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    return buffer.getvalue().encode(encoding)


# ----------------------------------------------------------------------------- encodings

TEXT = [["Name", "Place"], ["Café", "£5 “quoted” – dash"], ["Zoë", "naïve façade"]]


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        pytest.param(csv_bytes(TEXT), "UTF-8", id="utf-8"),
        pytest.param(codecs.BOM_UTF8 + csv_bytes(TEXT), "UTF-8 with byte-order mark", id="bom"),
        pytest.param(
            codecs.BOM_UTF16_LE + csv_bytes(TEXT, encoding="utf-16-le"), "UTF-16", id="utf-16-le"
        ),
        pytest.param(
            codecs.BOM_UTF16_BE + csv_bytes(TEXT, encoding="utf-16-be"), "UTF-16", id="utf-16-be"
        ),
        pytest.param(csv_bytes(TEXT, encoding="cp1252"), "Windows-1252 (not UTF-8)", id="cp1252"),
    ],
)
def test_every_accepted_encoding_reads_the_same_values(
    tmp_path: Path, data: bytes, encoding: str
) -> None:
    table, rows = read(tmp_path, data)
    assert table.encoding == encoding
    assert table.headers == ["Name", "Place"]  # no byte-order mark left in the first header
    assert rows == [(2, TEXT[1]), (3, TEXT[2])]
    assert table.rejected == []


def test_latin_1_bytes_that_windows_1252_leaves_undefined_are_read_as_latin_1(
    tmp_path: Path,
) -> None:
    # 0x81 has no character in Windows-1252; in ISO-8859-1 it is a control character.
    table, rows = read(tmp_path, "Name,Place\nA\x81B,Ré\n".encode("latin-1"))
    assert table.encoding == "ISO-8859-1 (not UTF-8)"
    assert rows == [(2, ["A\x81B", "Ré"])]


def test_a_mostly_utf8_file_with_one_bad_byte_rejects_only_that_row(tmp_path: Path) -> None:
    data = "Name,Place\nCafé,one\n".encode() + b"Caf\xe9,two\n" + "Zoë,three\n".encode()
    table, rows = read(tmp_path, data)
    assert table.encoding == "UTF-8"
    assert rows == [(2, ["Café", "one"]), (4, ["Zoë", "three"])]
    assert rejected(table) == [(3, "invalid_encoding", "Caf\ufffd,two")]
    assert table.rejected[0].message == "This row has bytes that are not valid UTF-8 text."
    assert len(rows) + len(table.rejected) == 3


def test_a_row_with_a_bad_byte_and_too_few_values_is_named_for_its_bytes(tmp_path: Path) -> None:
    data = "Name,Place\nCafé,one\n".encode() + b"Caf\xe9\n" + b"Tea,two\n"
    table, rows = read(tmp_path, data)
    assert rows == [(2, ["Café", "one"]), (4, ["Tea", "two"])]
    assert [(r.row, r.rule) for r in table.rejected] == [(3, "invalid_encoding")]


def test_a_multibyte_character_split_across_read_chunks_is_still_utf8(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reading, "CHUNK", 7)
    data = "Name,Place\nxxxxé,ü€\n".encode()
    table, rows = read(tmp_path, data)
    assert table.encoding == "UTF-8"
    assert rows == [(2, ["xxxxé", "ü€"])]
    utf16 = codecs.BOM_UTF16_LE + "Name,Place\nxxxxé,ü€\n".encode("utf-16-le")
    table, rows = read(tmp_path, utf16)
    assert rows == [(2, ["xxxxé", "ü€"])]


def test_a_windows_1252_file_with_a_pair_of_bytes_that_is_also_utf8_stays_windows_1252(
    tmp_path: Path,
) -> None:
    # "É" then a closing curly quote is C9 94, which is also a UTF-8 character; the rest
    # of the file's accented letters are not UTF-8 at all.
    text = [["Name", "Place"], ["“CAFÉ”", "Zoë"], ["café", "naïve"], ["thé", "crème"]]
    table, rows = read(tmp_path, csv_bytes(text, encoding="cp1252"))
    assert table.encoding == "Windows-1252 (not UTF-8)"
    assert rows == [(2, text[1]), (3, text[2]), (4, text[3])]
    assert table.rejected == []


def test_byte_order_marks_inside_headers_are_dropped(tmp_path: Path) -> None:
    # Two files joined by copying: a second mark lands inside the first header.
    data = codecs.BOM_UTF8 + "\ufeffName,\ufeffPlace\nA,B\n".encode()
    table, rows = read(tmp_path, data)
    assert table.headers == ["Name", "Place"]
    assert rows == [(2, ["A", "B"])]


def test_utf16_without_a_byte_order_mark_is_refused_as_binary(tmp_path: Path) -> None:
    with pytest.raises(reading.UnreadableFile, match="NUL bytes"):
        read(tmp_path, "Name,Place\nA,B\n".encode("utf-16-le"))


# ----------------------------------------------------------------------- delimiters, lines


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_each_delimiter_is_found_even_when_values_hold_the_others(
    tmp_path: Path, delimiter: str
) -> None:
    rows = [["Name", "Place", "Note"], ["a,b", "c;d", "e|f\tg"], ["1", "2", "3"]]
    table, read_rows = read(tmp_path, csv_bytes(rows, delimiter=delimiter))
    assert table.delimiter == delimiter
    assert read_rows == [(2, rows[1]), (3, rows[2])]


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
@pytest.mark.parametrize(
    "value",
    [
        pytest.param("cell\x0bbreak", id="vertical-tab"),  # Excel for Mac's break in a cell
        pytest.param("para\u2028graph", id="line-separator"),
        pytest.param("x\n" * 30, id="thirty-lines"),
    ],
)
def test_the_delimiter_is_found_past_values_python_would_split_into_lines(
    tmp_path: Path, delimiter: str, value: str
) -> None:
    rows = [["Place", "Note", "Other"], ["a,b", value, "c"]]
    table, read_rows = read(tmp_path, csv_bytes(rows, delimiter=delimiter))
    assert table.delimiter == delimiter
    assert read_rows == [(2, rows[1])]


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"Name,Place\nA,B\nC,D\n", id="lf"),
        pytest.param(b"Name,Place\r\nA,B\r\nC,D\r\n", id="crlf"),
        pytest.param(b"Name,Place\rA,B\rC,D\r", id="cr"),
        pytest.param(b"Name,Place\nA,B\nC,D", id="no-final-newline"),
    ],
)
def test_every_line_ending_reads_the_same(tmp_path: Path, data: bytes) -> None:
    table, rows = read(tmp_path, data)
    assert table.headers == ["Name", "Place"]
    assert rows == [(2, ["A", "B"]), (3, ["C", "D"])]


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, reading.CHUNK])
def test_mixed_line_endings_are_read_and_breaks_inside_quoted_values_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    # Joined from a Windows and a Unix export, with one row added by hand.
    monkeypatch.setattr(reading, "CHUNK", chunk)
    data = b'Name,Place\r\nA,B\r\nC,"two\r\nlines"\nD,"say ""hi""\rnow"\rshort\nE,F\r\n'
    table, rows = read(tmp_path, data)
    assert rows == [
        (2, ["A", "B"]),
        (3, ["C", "two\r\nlines"]),
        (4, ["D", 'say "hi"\rnow']),
        (6, ["E", "F"]),
    ]
    assert rejected(table) == [(5, "ragged_row", "short")]


def test_only_files_whose_rows_end_in_more_than_one_way_are_copied(tmp_path: Path) -> None:
    cases = {
        b"a,b\n1,2\n": False,
        b"a,b\r\n1,2\r\n": False,
        b"a,b\r1,2\r": False,
        b"a,b\r\n1,2\n": True,
        b"a,b\n1,2\r": True,
    }
    for data, mixed in cases.items():
        path = tmp_path / "upload"
        path.write_bytes(data)
        assert reading.mixed_line_endings(path) is mixed, data


def test_headers_keep_their_words_without_surrounding_space(tmp_path: Path) -> None:
    table, rows = read(tmp_path, b"  Crime ID  ,\tMONTH ,Last  outcome,\n1,2,3,\n")
    assert table.headers == ["Crime ID", "MONTH", "Last  outcome"]  # trailing empty dropped
    assert rows == [(2, ["1", "2", "3"])]


def test_embedded_newlines_and_quotes_in_quoted_values_are_kept(tmp_path: Path) -> None:
    rows = [
        ["Name", "Note"],
        ["a", "line one\nline two"],
        ["b", 'he said "hi", then left'],
        ["c", "crlf\r\ninside"],
        ["d", ""],
    ]
    table, read_rows = read(tmp_path, csv_bytes(rows))
    # Rows are numbered as a spreadsheet shows them: one row per record.
    assert read_rows == [
        (2, rows[1]),
        (3, rows[2]),
        (4, rows[3]),
        (5, ["d", None]),  # an empty value is read as no value
    ]
    assert table.rejected == []


def test_ragged_rows_are_rejected_with_their_line_and_the_rest_kept(tmp_path: Path) -> None:
    data = b"Name,Place\nA,B\nonly one\nC,D\nE,F,G\nH,I\n"
    table, rows = read(tmp_path, data)
    assert rows == [(2, ["A", "B"]), (4, ["C", "D"]), (6, ["H", "I"])]
    assert rejected(table) == [(3, "ragged_row", "only one"), (5, "ragged_row", "E,F,G")]
    assert [r.message for r in table.rejected] == [
        "This row has 1 values but the header names 2 columns.",
        "This row has 3 values but the header names 2 columns.",
    ]
    assert len(rows) + len(table.rejected) == 5


def test_a_short_last_row_without_a_newline_is_rejected(tmp_path: Path) -> None:
    table, rows = read(tmp_path, b"Name,Place\nA,B\nC")
    assert rows == [(2, ["A", "B"])]
    assert rejected(table) == [(3, "ragged_row", "C")]


def test_an_unterminated_quote_rejects_the_rest_of_the_file_as_one_row(tmp_path: Path) -> None:
    table, rows = read(tmp_path, b'Name,Place\nA,B\nC,"never closed\nD,E\n')
    assert rows == [(2, ["A", "B"])]
    assert rejected(table) == [(3, "bad_quotes", 'C,"never closed\nD,E')]
    assert table.rejected[0].message == (
        "This row has a quote mark that is not closed or not at the start of a value."
    )


def test_text_after_a_closing_quote_rejects_that_row(tmp_path: Path) -> None:
    table, rows = read(tmp_path, b'Name,Place\nA,"B"junk\nC,D\n')
    assert rows == [(3, ["C", "D"])]
    assert rejected(table) == [(2, "bad_quotes", 'A,"B"junk')]


def test_a_quote_inside_an_unquoted_value_is_text(tmp_path: Path) -> None:
    _, rows = read(tmp_path, b'Name,Place\nA,5" screen\n')
    assert rows == [(2, ["A", '5" screen'])]


def test_blank_lines_between_records_are_skipped(tmp_path: Path) -> None:
    table, rows = read(tmp_path, b"Name,Place\nA,B\n\n\nC,D\n")
    assert [values for _, values in rows] == [["A", "B"], ["C", "D"]]
    assert table.rejected == []


HOSTILE = [
    '=HYPERLINK("http://example.invalid","click")',
    "+44 20 7946 0000",
    "-2+3",
    "@SUM(A1:A2)",
    "\t=1+1",
    "<script>alert('x')</script>",
    "<b onmouseover=alert(1)>hi</b>",
    "'); DROP TABLE x;--",
    "Robert'); DELETE FROM ingest_ingestjob; --",
    "${jndi:ldap://example.invalid/a}",
    "{{7*7}}",
    "%s%s%s%n",
    "../../etc/passwd",
    "\u202eevil\u202c",
    "emoji 🚓🚑 and 中文",
]


def test_formulas_markup_and_sql_are_read_as_plain_text(tmp_path: Path) -> None:
    rows = [["Name", "Note"], *[[str(i), text] for i, text in enumerate(HOSTILE)]]
    table, read_rows = read(tmp_path, csv_bytes(rows))
    assert [values for _, values in read_rows] == rows[1:]
    assert table.rejected == []


# ------------------------------------------------------------------------------- sizes


def test_a_line_longer_than_the_limit_is_rejected_and_the_rest_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reading, "MAX_LINE_BYTES", 64)
    long_value = "x" * 200
    table, rows = read(tmp_path, f"Name,Place\nA,B\n{long_value},C\nD,E\n".encode())
    assert rows == [(2, ["A", "B"]), (4, ["D", "E"])]
    assert rejected(table) == [(3, "line_too_long", f"{long_value},C")]
    assert table.rejected[0].message == "This row is longer than 64 bytes."


def test_a_quoted_value_spanning_lines_past_the_limit_is_one_rejected_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reading, "MAX_LINE_BYTES", 64)
    spanning = "line\n" * 30
    table, rows = read(tmp_path, csv_bytes([["Name", "Note"], ["A", spanning], ["B", "ok"]]))
    assert [values for _, values in rows] == [["B", "ok"]]
    assert [(r.row, r.rule) for r in table.rejected] == [(2, "line_too_long")]


def test_the_rejected_text_is_cut_to_a_preview(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reading, "MAX_LINE_BYTES", 1024)
    table, _ = read(tmp_path, b"Name,Place\n" + b"y" * 5000 + b"\n")
    assert table.rejected[0].rule == "line_too_long"
    assert table.rejected[0].text == "y" * reading.TEXT_PREVIEW


def test_a_first_row_longer_than_the_limit_is_refused_not_cut_short(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reading, "MAX_LINE_BYTES", 64)
    with pytest.raises(reading.UnreadableFile, match="first row is longer than 64 bytes"):
        read(tmp_path, b"a" * 100 + b",b\n1,2\n")


def test_the_real_line_limit_is_named_in_megabytes() -> None:
    assert reading._size_words(reading.MAX_LINE_BYTES) == "4 MB"


def test_too_many_columns_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reading, "MAX_COLUMNS", 3)
    with pytest.raises(reading.UnreadableFile, match="The file has 4 columns; at most 3"):
        read(tmp_path, b"a,b,c,d\n1,2,3,4\n")


# ---------------------------------------------------------------------- refused outright


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(b"", "The file is empty.", id="empty"),
        pytest.param(b"  \n\r\n\t\n", "The file is empty.", id="whitespace"),
        pytest.param(b"\n\nName,Place\nA,B\n", "The first row is empty", id="blank-first-row"),
        pytest.param(b",,,\nA,B\n", "The first row is empty", id="empty-headers"),
        pytest.param(b"Name,Place\nA,\x00B\n", "contains NUL bytes", id="nul"),
        pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "contains NUL bytes", id="png"),
    ],
)
def test_files_that_are_not_csv_text_are_refused_with_a_reason(
    tmp_path: Path, data: bytes, message: str
) -> None:
    with pytest.raises(reading.UnreadableFile, match=message):
        read(tmp_path, data)


def test_a_header_only_file_has_no_records(tmp_path: Path) -> None:
    for data in (b"Name,Place\n", b"Name,Place"):
        table, rows = read(tmp_path, data)
        assert (table.headers, rows, table.rejected, table.rows) == (["Name", "Place"], [], [], 0)


def zip_with(path: Path, name: str, text: str) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(name, text)
    return path


def test_old_excel_pdf_and_damaged_zip_files_are_named_for_what_they_are(tmp_path: Path) -> None:
    cases = {
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504: "old-style Excel file (.xls)",
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n": "This is a PDF, not a data file",
        b"PK\x03\x04 this is not really a zip": "looks like a spreadsheet but is damaged",
    }
    for data, message in cases.items():
        path = tmp_path / "upload"
        path.write_bytes(data)
        with pytest.raises(reading.UnreadableFile, match=re.escape(message)):
            reading.sniff_kind(path)


def test_a_zip_that_is_not_a_workbook_is_refused(tmp_path: Path) -> None:
    path = zip_with(tmp_path / "upload", "notes.txt", "Name,Place\nA,B\n")
    assert reading.sniff_kind(path) == "xlsx"
    with pytest.raises(reading.UnreadableFile, match="The spreadsheet cannot be opened"):
        reading.read_xlsx(path, tmp_path / "raw.parquet")


# ----------------------------------------------------------------------------------- XLSX


def workbook(path: Path, rows: list[list[object]]) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def test_a_workbook_reads_cells_as_text_and_numbers_rows_as_the_sheet_does(
    tmp_path: Path,
) -> None:
    path = workbook(
        tmp_path / "upload",
        [
            [None],  # blank rows above the header
            [" Name ", "\ufeffWhen", "Count", "Flag"],
            ["a", datetime(2024, 1, 2, 3, 4, 5), 7, True],  # noqa: DTZ001 - a naive cell
            [None, None, None, None],
            ["b", date(2024, 2, 29), 2.5, False],
            ["c", None, 1e20, None, None, ""],  # empty cells past the header are no values
            ["d", "x", 1, None, "extra"],
            ["<script>", "'); DROP TABLE x;--", "@SUM(A1)", "+1"],
        ],
    )
    table = reading.read_xlsx(path, tmp_path / "raw.parquet")
    assert (table.format, table.encoding, table.headers) == (
        "xlsx",
        "XLSX",
        ["Name", "When", "Count", "Flag"],
    )
    assert records_of(table) == [
        (3, ["a", "2024-01-02 03:04:05", "7", "true"]),
        (5, ["b", "2024-02-29 00:00:00", "2.5", "false"]),
        (6, ["c", None, "1e+20", None]),
        (8, ["<script>", "'); DROP TABLE x;--", "@SUM(A1)", "+1"]),
    ]
    assert rejected(table) == [(7, "ragged_row", "d, x, 1, , extra, ")]
    assert table.rejected[0].message == "This row has values beyond the 4 named columns."


def test_a_workbook_writes_real_dates_in_the_layout_format_of_their_column(
    tmp_path: Path,
) -> None:
    path = workbook(
        tmp_path / "upload",
        [
            ["Month", "Recorded", "Time"],
            [datetime(2024, 3, 1), datetime(2024, 2, 9), time(9, 5)],  # noqa: DTZ001
        ],
    )
    formats = {0: "%Y-%m", 1: "%d/%m/%Y", 2: "%H:%M"}
    table = reading.read_xlsx(path, tmp_path / "raw.parquet", date_formats=lambda h: formats)
    assert records_of(table) == [(2, ["2024-03", "09/02/2024", "09:05"])]


def test_an_empty_workbook_is_refused_and_a_header_only_one_has_no_records(
    tmp_path: Path,
) -> None:
    empty = workbook(tmp_path / "empty", [])
    with pytest.raises(reading.UnreadableFile, match="The first worksheet is empty"):
        reading.read_xlsx(empty, tmp_path / "raw.parquet")
    header = workbook(tmp_path / "header", [["Name", "Place"]])
    table = reading.read_xlsx(header, tmp_path / "raw2.parquet")
    assert (table.headers, table.rows, records_of(table)) == (["Name", "Place"], 0, [])


# --------------------------------------------------------------------- smaller functions


def test_rows_of_counts_rejected_lines_back_in() -> None:
    table = reading.RawTable(
        parquet=Path("unused"),
        headers=["a"],
        rows=5,
        format="csv",
        encoding="UTF-8",
        delimiter=",",
        _reject_lines=np.array([5, 2, 3], dtype=np.int64),
    )
    # Lines: 1 header, 2 and 3 rejected, 4 record 1, 5 rejected, 6.. records 2, 3, 4, 5.
    assert table.rows_of(np.arange(1, 6)).tolist() == [4, 6, 7, 8, 9]


@pytest.mark.parametrize(
    ("text", "delimiter"),
    [
        ("a,b,c\n1,2,3\n", ","),
        ("a;b;c\n1,5;2,5;3\n", ";"),
        ("a\tb\n1\t2\n", "\t"),
        ("a|b\n1|2\n", "|"),
        ("only\n1\n", ","),
        ('"a;b",c\n"1;2",3\n', ","),
    ],
)
def test_sniff_delimiter(text: str, delimiter: str) -> None:
    assert reading.sniff_delimiter(text) == delimiter


# ------------------------------------------------------------- the raw store and the job

STREET = [
    "Crime ID",
    "Month",
    "Reported by",
    "Falls within",
    "Longitude",
    "Latitude",
    "Location",
    "LSOA code",
    "LSOA name",
    "Crime type",
    "Last outcome category",
    "Context",
]
MPS = "Metropolitan Police Service"


def street(n: int, month: str = "2024-01", **changes: str) -> list[str]:
    row = dict(
        zip(
            STREET,
            [
                f"{n:064x}",
                month,
                MPS,
                MPS,
                "-0.135",
                "51.505",
                "On or near Whitehall",
                "E01004736",
                "Westminster 001A",
                "Burglary",
                "Under investigation",
                "",
            ],
            strict=True,
        )
    )
    row.update({key.replace("_", " "): value for key, value in changes.items()})
    return [row[name] for name in STREET]


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\Windows\\win.ini", "win.ini"),
        ("/absolute/path/street.csv", "street.csv"),
        ("..", "upload"),
        ("../..", "upload"),
        (".", "upload"),
        ("", "upload"),
        ("a\x00b\n\r.csv", "ab.csv"),
        ("\u202evsc.exe", "vsc.exe"),
        ("x" * 300 + ".csv", "x" * 255),
    ],
)
def test_safe_name_keeps_only_a_printable_file_name(name: str, shown: str) -> None:
    assert safe_name(name) == shown


@pytest.mark.django_db
def test_a_path_traversal_upload_name_is_stored_under_its_hash_only(
    stores: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    catalogue()
    path = write_rows(tmp_path / "street.csv", STREET, [street(1)])
    from safestats.audit.services import Actor
    from safestats.catalogue.models import Dataset
    from safestats.ingest import services

    job = services.receive(
        dataset=Dataset.objects.get(pk="police-uk-street"),
        files=[services.Incoming(name="../../../../etc/passwd", chunks=[path.read_bytes()])],
        by=Actor.system("test"),
    )
    job = services.run_now(job)
    assert job.status == JobStatus.PUBLISHED, job.message
    raw = RawFile.objects.get()
    assert raw.first_name == "passwd"
    assert JobFile.objects.get(job=job).name == "passwd"
    stored = Path(settings.SAFESTATS_RAW_DIR) / raw.stored_path
    assert stored.resolve().is_relative_to((stores / "raw").resolve())
    assert raw.stored_path == f"{raw.sha256[:2]}/{raw.sha256}"
    assert stored.read_bytes() == path.read_bytes()
    every_file = {p.name for p in tmp_path.rglob("*") if p.is_file()}
    assert "passwd" not in every_file


@pytest.mark.django_db
def test_the_same_bytes_under_another_name_are_stored_once_and_change_nothing(
    stores: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    catalogue()
    first_path = write_rows(tmp_path / "january.csv", STREET, [street(1), street(2)])
    first = load("police-uk-street", first_path)
    assert first.status == JobStatus.PUBLISHED, first.message
    before = data_store_files(stores)
    copy = tmp_path / "copy of january (2).csv"
    copy.write_bytes(first_path.read_bytes())
    second = load("police-uk-street", copy)
    assert second.status == JobStatus.UNCHANGED
    assert RawFile.objects.count() == 1
    assert RawFile.objects.get().first_name == "january.csv"
    assert [f.name for f in second.job_files.all()] == ["copy of january (2).csv"]
    assert data_store_files(stores) == before
    assert len(list((stores / "raw").rglob("*.part"))) == 0
    assert len([p for p in (stores / "raw").rglob("*") if p.is_file()]) == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(b"", "The file is empty.", id="empty"),
        pytest.param(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, ".xls", id="xls"),
        pytest.param(b"%PDF-1.4\n", "This is a PDF", id="pdf"),
        pytest.param(b"Crime ID,Month\x00\n", "NUL bytes", id="nul"),
        pytest.param(None, "The spreadsheet cannot be opened", id="zip"),
    ],
)
def test_an_unreadable_file_fails_the_job_naming_the_file_and_publishes_nothing(
    stores: Path,  # noqa: F811
    tmp_path: Path,
    data: bytes | None,
    message: str,
) -> None:
    catalogue()
    path = tmp_path / "street.csv"
    if data is None:
        zip_with(path, "street.csv", "Crime ID\n")
    else:
        path.write_bytes(data)
    job = load("police-uk-street", path)
    assert job.status == JobStatus.FAILED
    assert job.message.startswith("street.csv: ")
    assert message in job.message
    assert data_store_files(stores) == set()
    assert IngestJob.objects.get(pk=job.pk).finished_at is not None


@pytest.mark.django_db
def test_a_header_only_file_fails_as_having_no_records(
    stores: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    catalogue()
    job = load("police-uk-street", write_rows(tmp_path / "street.csv", STREET, []))
    assert job.status == JobStatus.FAILED
    assert job.message == "The file has no records below its header: nothing was published."


@pytest.mark.django_db
def test_odd_header_case_and_spacing_match_and_extra_columns_are_noted_not_loaded(
    stores: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    catalogue()
    odd = ["  crime id", "MONTH", "Reported  by", "falls within ", "LONGITUDE", "latitude"]
    odd += ["Location", "lsoa CODE", "LSOA name", "crime TYPE", "Last outcome category"]
    odd += ["CONTEXT", "Officer name", "Victim phone"]
    rows = [[*street(1), "PC Synthetic", "07700 900000"]]
    path = write_rows(tmp_path / "street.csv", odd, rows, encoding="utf-8-sig")
    job = load("police-uk-street", path)
    assert job.status == JobStatus.PUBLISHED, job.message
    assert job.summary["notes"] == [
        "street.csv: these columns are not in the layout street-csv and were not loaded "
        "(they are kept in the raw file): 'Officer name', 'Victim phone'"
    ]
    assert current_rows("police-uk-street", "crime_id, month::VARCHAR, crime_type") == [
        (f"{1:064x}", "2024-01-01", "Burglary")
    ]
    for parquet in (stores / "data").rglob("*.parquet"):
        content = parquet.read_bytes()
        assert b"PC Synthetic" not in content and b"07700 900000" not in content
    raw = Path(settings.SAFESTATS_RAW_DIR) / job.files.get().stored_path
    assert b"07700 900000" in raw.read_bytes()
