"""Reading a provider's file into a table of text, whatever its format, encoding and
delimiter, without holding it in memory.

A file is read into a Parquet file of text columns ``c0 .. cN`` (one per header, in order)
in file order (:func:`batches` numbers the records), in one streaming pass by DuckDB (CSV) or
openpyxl in read-only mode (XLSX). Rows that cannot be read as records of the header's
width, or whose bytes are not text in the file's encoding, are not lost: each comes back as
a :class:`Rejected` with its line number, the reason and the line itself, for quarantine.

Encodings: UTF-8 (with or without a byte-order mark), UTF-16 with a byte-order mark, and
Windows-1252 (what Excel writes on UK machines when asked for plain "CSV"). A file that is
not valid UTF-8 is read as Windows-1252 unless it is mostly UTF-8 (at least as many UTF-8
characters as stray bytes): then it keeps UTF-8 and its bad rows are rejected, each named.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Final, Literal

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

CHUNK: Final = 1 << 20
DELIMITERS: Final = (",", ";", "\t", "|")
MAX_LINE_BYTES: Final = 4 * 1024 * 1024
# The engine reads ahead by buffers of 16 times the longest line unless told: 64 MB a thread.
CSV_BUFFER_BYTES: Final = 2 * MAX_LINE_BYTES
MAX_COLUMNS: Final = 2000
XLSX_BATCH: Final = 50_000
TEXT_PREVIEW: Final = 500
_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xf4][\x80-\xbf]{1,3}")
_HIGH_BYTES = bytes(range(0x80, 0x100))

Progress = Callable[[int], None]  # called with the bytes (or rows) read so far


class UnreadableFile(ValueError):
    """The file as a whole cannot be read; the message says why, for its sender."""


@dataclass(frozen=True)
class Rejected:
    """A row that could not be read as a record: ``row`` is its line number (the header is
    line 1), ``rule`` a short name and ``message`` the reason in words."""

    row: int
    rule: str
    message: str
    text: str


@dataclass
class RawTable:
    parquet: Path
    headers: list[str]
    rows: int
    format: Literal["csv", "xlsx"]
    encoding: str
    delimiter: str
    rejected: list[Rejected] = field(default_factory=list)
    # For CSV: the line numbers of rejected rows, so each record's line can be worked out.
    _reject_lines: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def rows_of(self, records: np.ndarray) -> np.ndarray:
        """The line (CSV) or sheet row (XLSX) of each record, numbered as a spreadsheet
        numbers them: the header is 1. Exact unless the file has blank lines or values
        that span lines before the record."""
        return _rows_of(records, self._reject_lines)


def _rows_of(records: np.ndarray, reject_lines: np.ndarray) -> np.ndarray:
    records = np.asarray(records, dtype=np.int64)
    lines = np.sort(reject_lines)
    if len(lines) == 0:
        return records + 1
    shifted = lines - np.arange(1, len(lines) + 1, dtype=np.int64)
    return records + 1 + np.searchsorted(shifted, records, side="right")


# ------------------------------------------------------------------------------ sniffing


def sniff_kind(path: Path) -> Literal["csv", "xlsx"]:
    with path.open("rb") as handle:
        head = handle.read(8)
    if head.startswith(b"PK\x03\x04"):
        if not zipfile.is_zipfile(path):
            raise UnreadableFile("The file looks like a spreadsheet but is damaged.")
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise UnreadableFile(
            "This is an old-style Excel file (.xls): save it as .xlsx or as CSV and send it again."
        )
    if head.startswith(b"%PDF"):
        raise UnreadableFile("This is a PDF, not a data file: send CSV or XLSX.")
    return "csv"


def detect_encoding(path: Path) -> str:
    """The encoding to read the file with (a Python codec name)."""
    with path.open("rb") as handle:
        head = handle.read(4)
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        handle.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        valid = True
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            if b"\x00" in chunk:
                raise UnreadableFile(
                    "The file contains NUL bytes, so it is not a text (CSV) file. If it is "
                    "a spreadsheet, save it as .xlsx or CSV."
                )
            if valid:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    valid = False
        if valid:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                valid = False
    if valid:
        return "utf-8"
    # Windows-1252 text can hold a pair of bytes that is also a UTF-8 character ("É”"
    # is C9 94): one such pair must not make a whole Windows-1252 file UTF-8. (Counted in
    # a second pass, only for files that are not valid UTF-8.)
    multibyte, in_sequences, high = _utf8_evidence(path)
    if multibyte and multibyte >= high - in_sequences:
        return "utf-8"  # mostly UTF-8: the bad rows are rejected one by one
    try:
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(CHUNK), b""):
                chunk.decode("cp1252")
    except UnicodeDecodeError:
        return "latin-1"
    return "cp1252"


def _utf8_evidence(path: Path) -> tuple[int, int, int]:
    """Sequences that look like UTF-8 characters, their bytes, and all bytes above 0x7F."""
    multibyte = in_sequences = high = 0
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            sequences = _UTF8_MULTIBYTE.findall(chunk)
            multibyte += len(sequences)
            in_sequences += sum(map(len, sequences))
            high += len(chunk) - len(chunk.translate(None, _HIGH_BYTES))
    return multibyte, in_sequences, high


ENCODING_NAMES: Final = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 with byte-order mark",
    "utf-16": "UTF-16",
    "cp1252": "Windows-1252 (not UTF-8)",
    "latin-1": "ISO-8859-1 (not UTF-8)",
}


def transcode(path: Path, encoding: str, target: Path) -> Path:
    """A UTF-8 copy of ``path`` (without byte-order mark), written in chunks."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        with path.open("rb") as source, target.open("wb") as out:
            for chunk in iter(lambda: source.read(CHUNK), b""):
                out.write(decoder.decode(chunk).encode("utf-8"))
            out.write(decoder.decode(b"", final=True).encode("utf-8"))
    except UnicodeDecodeError as error:
        raise UnreadableFile(
            f"The file is not valid {ENCODING_NAMES.get(encoding, encoding)} text "
            f"(byte {error.start} cannot be read)."
        ) from None
    return target


def _size_words(size: int) -> str:
    megabytes, rest = divmod(size, 1024 * 1024)
    return f"{megabytes} MB" if megabytes and not rest else f"{size:,} bytes"


_LONE_LF = re.compile(rb"(?<!\r)\n")
_LONE_CR = re.compile(rb"\r(?!\n)")


def mixed_line_endings(path: Path) -> bool:
    """Whether rows end in more than one way (CRLF, LF, CR), as in files joined from a
    Windows and a Unix export: the engine refuses such a file as a whole. May say yes
    for a file that is not (a line break inside a quoted value, or split between reads),
    which costs only a copy."""
    kinds: set[str] = set()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            if b"\r" not in chunk:  # the usual case, found without a regular expression
                if b"\n" in chunk:
                    kinds.add("lf")
                if len(kinds) > 1:
                    return True
                continue
            if b"\r\n" in chunk:
                kinds.add("crlf")
            if _LONE_LF.search(chunk):
                kinds.add("lf")
            if _LONE_CR.search(chunk):
                kinds.add("cr")
            if len(kinds) > 1:
                return True
    return False


def normalise_line_endings(path: Path, target: Path) -> Path:
    """A copy of ``path`` whose rows all end in LF. Line breaks inside quoted values are
    left as they are: a quote mark switches between inside and outside a value (a doubled
    quote inside one switches twice), and only breaks outside are changed."""
    inside = False
    held = b""  # a CR at the end of one read may be the first half of a CRLF
    with path.open("rb") as source, target.open("wb") as out:
        for chunk in iter(lambda: source.read(CHUNK), b""):
            chunk = held + chunk
            held = b""
            if chunk.endswith(b"\r"):
                chunk, held = chunk[:-1], b"\r"
            parts = chunk.split(b'"')
            for index, part in enumerate(parts):
                if (index % 2 == 0) != inside:  # outside a quoted value
                    parts[index] = part.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            out.write(b'"'.join(parts))
            inside ^= len(parts) % 2 == 0
        out.write(held.replace(b"\r", b"\n"))
    return target


def _first_record(path: Path) -> str:
    with path.open("rb") as handle:
        head = handle.read(MAX_LINE_BYTES + 1)
    if len(head) > MAX_LINE_BYTES and not re.search(rb"[\r\n]", head[:MAX_LINE_BYTES]):
        # Cut short, the header would silently name fewer (or truncated) columns.
        raise UnreadableFile(
            f"The first row is longer than {_size_words(MAX_LINE_BYTES)}, so it cannot be the "
            "row of column names: is this a CSV file?"
        )
    text = head[:MAX_LINE_BYTES].decode("utf-8", errors="replace")
    if not text.strip():
        raise UnreadableFile("The file is empty.")
    return text


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the header (and the next line) into the most columns,
    consistently; a comma when nothing else does. The first 20 records are read as CSV
    records, not lines: a value may hold line breaks, and characters such as vertical tab
    or U+2028 that Python counts as line ends but CSV does not."""
    best, best_width = ",", 1
    for delimiter in DELIMITERS:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        try:
            rows = [row for row in itertools.islice(reader, 20) if row]
        except csv.Error:
            continue
        if not rows:
            continue
        width = len(rows[0])
        agreeing = sum(1 for row in rows[1:] if len(row) == width)
        if width > best_width and (len(rows) == 1 or agreeing >= 1):
            best, best_width = delimiter, width
    return best


def _headers(text: str, delimiter: str) -> list[str]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        headers = next(reader)
    except (StopIteration, csv.Error) as error:
        raise UnreadableFile(f"The header row cannot be read: {error}") from None
    headers = [header.replace("\ufeff", "").strip() for header in headers]
    while headers and headers[-1] == "":
        headers.pop()  # trailing delimiters after the last header
    if not headers:
        raise UnreadableFile("The first row is empty: it must name the columns.")
    if len(headers) > MAX_COLUMNS:
        raise UnreadableFile(f"The file has {len(headers)} columns; at most {MAX_COLUMNS}.")
    return headers


# ------------------------------------------------------------------------------- reading


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass
class CsvSource:
    """A CSV file sniffed and ready to stream: its headers, encoding and delimiter are
    known; :meth:`batches` reads its records with the engine, a batch at a time, without
    writing them anywhere. Rows the engine cannot read are known only once every batch has
    been read: then ``rows``, ``rejected`` and :meth:`rows_of` are final."""

    source: Path  # what the engine reads: the file, or its UTF-8 copy
    headers: list[str]
    width: int  # the header's values, with any empty ones after the last name
    encoding: str
    delimiter: str
    scratch: Path
    memory_mb: int
    threads: int
    estimated_rows: int
    rows: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    finished: bool = False
    _reject_lines: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def _select(self) -> str:
        columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(self.width)) + "}"
        names = ", ".join(f"c{i}" for i in range(len(self.headers)))
        return f"""
            SELECT {names}
            FROM read_csv(
                {_quote(str(self.source))}, auto_detect = false, header = true,
                delim = {_quote(self.delimiter)}, quote = '"', escape = '"',
                columns = {columns}, all_varchar = true, strict_mode = true,
                null_padding = false, max_line_size = {MAX_LINE_BYTES},
                buffer_size = {CSV_BUFFER_BYTES},
                store_rejects = true, rejects_table = 'rejects',
                rejects_scan = 'reject_scans', rejects_limit = 0
            )
            """

    def batches(self, size: int = 131_072) -> Iterator[pa.RecordBatch]:
        """The file's records in file order, each batch with its ``_record`` positions
        (1, 2, ...: the engine keeps insertion order). Read once."""
        if self.finished:
            raise RuntimeError("a CSV source is read once")
        connection = duckdb.connect(
            config={
                "memory_limit": f"{self.memory_mb}MB",
                "threads": self.threads,
                "temp_directory": str(self.scratch / "spill"),
                "enable_external_access": True,
            }
        )
        position = 0
        try:
            try:
                reader = connection.sql(self._select()).to_arrow_reader(size)
                while True:
                    try:
                        batch = reader.read_next_batch()
                    except StopIteration:
                        break
                    if batch.num_rows == 0:
                        continue
                    records = pa.array(
                        np.arange(position + 1, position + 1 + batch.num_rows, dtype=np.int64)
                    )
                    position += batch.num_rows
                    yield pa.RecordBatch.from_arrays(
                        [records, *batch.columns], names=["_record", *batch.schema.names]
                    )
                # One row can fail in several ways; bad bytes are named first, as they are
                # the likely cause of the others (and ties are otherwise in no fixed order).
                rejects = connection.execute(
                    "SELECT line, error_type, error_message, csv_line, line_byte_position "
                    "FROM rejects ORDER BY line, "
                    "CASE error_type WHEN 'INVALID ENCODING' THEN 0 "
                    "WHEN 'INVALID UNICODE' THEN 0 "
                    "WHEN 'LINE SIZE OVER MAXIMUM' THEN 1 WHEN 'UNTERMINATED QUOTES' THEN 2 "
                    "WHEN 'UNQUOTED VALUE' THEN 2 ELSE 3 END, error_type"
                ).fetchall()
            except duckdb.Error as error:
                raise UnreadableFile(
                    f"The file cannot be read as CSV: {_engine_message(error)}"
                ) from None
        finally:
            connection.close()
        self.rows = position
        seen: set[int] = set()
        for line, kind, message, csv_line, byte_position in rejects:
            if line in seen:  # one row can fail in several ways; report it once
                continue
            seen.add(line)
            text = str(csv_line or "")
            if _REJECT_RULES.get(str(kind)) == "invalid_encoding":
                text = _sent_text(self.source, byte_position, text)
            self.rejected.append(_rejected(int(line), str(kind), str(message), text, self.width))
        self._reject_lines = np.array(sorted(seen), dtype=np.int64)
        self.finished = True

    def rows_of(self, records: np.ndarray) -> np.ndarray:
        """As :meth:`RawTable.rows_of`, once every batch has been read."""
        return _rows_of(records, self._reject_lines)

    def rows_of_provisional(self, provisional: np.ndarray) -> np.ndarray:
        """The rows of records numbered ``_record + 1`` while the file was read, before
        the rows the engine rejected were known: each moved down past those."""
        return self.rows_of(np.asarray(provisional, dtype=np.int64) - 1)


def open_csv(
    path: Path,
    scratch: Path,
    *,
    memory_mb: int = 1024,
    threads: int = 2,
) -> CsvSource:
    """Sniff a CSV file (encoding, line endings, delimiter, header) and make it ready to
    stream. ``scratch`` is a folder for a UTF-8 copy when the file needs one and for the
    engine's spill files."""
    encoding = detect_encoding(path)
    source = path
    if encoding != "utf-8":
        source = transcode(path, encoding, scratch / "utf8.csv")
    if mixed_line_endings(source):
        source = normalise_line_endings(source, scratch / "lines.csv")
    text = _first_record(source)
    delimiter = sniff_delimiter(text)
    headers = _headers(text, delimiter)
    width = len(_headers_raw(text, delimiter))
    sample = text.encode("utf-8")
    lines = max(sample.count(b"\n"), 1)
    size = source.stat().st_size
    estimated = size * lines // max(len(sample), 1) if len(sample) < size else lines
    return CsvSource(
        source=source,
        headers=headers,
        width=width,
        encoding=ENCODING_NAMES.get(encoding, encoding),
        delimiter=delimiter,
        scratch=scratch,
        memory_mb=memory_mb,
        threads=threads,
        estimated_rows=max(int(estimated) - 1, 0),
    )


def read_csv(
    path: Path,
    target: Path,
    scratch: Path,
    *,
    memory_mb: int = 1024,
    threads: int = 2,
) -> RawTable:
    """Read a CSV file into ``target`` (Parquet of text), as :func:`open_csv` streams it.
    ``scratch`` is a folder for a UTF-8 copy when the file needs one and for the engine's
    spill files."""
    csv_source = open_csv(path, scratch, memory_mb=memory_mb, threads=threads)
    schema = pa.schema([pa.field(f"c{i}", pa.string()) for i in range(len(csv_source.headers))])
    with pq.ParquetWriter(target, schema, compression="none") as writer:
        for batch in csv_source.batches(131_072):
            writer.write_batch(batch.drop_columns(["_record"]))
    return RawTable(
        parquet=target,
        headers=csv_source.headers,
        rows=csv_source.rows,
        format="csv",
        encoding=csv_source.encoding,
        delimiter=csv_source.delimiter,
        rejected=csv_source.rejected,
        _reject_lines=csv_source._reject_lines,
    )


def _sent_text(source: Path, position: int | None, shown: str) -> str:
    """A row with bytes that are not UTF-8, as sent (each bad byte as U+FFFD). The engine
    shows such a row with every bad byte as "?" and may swallow the byte after one (such
    as a delimiter), so the row is read again from the file at its (1-based) position,
    when that agrees with what the engine saw; otherwise the engine's text is kept."""
    expected = shown.encode("utf-8")[: TEXT_PREVIEW * 4]
    if not position or not expected:
        return shown
    with source.open("rb") as handle:
        handle.seek(int(position) - 1)
        sent = handle.read(len(expected))
    question = ord("?")
    if len(sent) != len(expected) or any(
        seen != question and seen != byte for seen, byte in zip(expected, sent, strict=True)
    ):
        return shown
    return sent.decode("utf-8", errors="replace")


def _headers_raw(text: str, delimiter: str) -> list[str]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    return next(reader)


def _engine_message(error: Exception) -> str:
    text = str(error).split("\n")[0]
    return re.sub(r"^[A-Za-z ]+Error: ", "", text)[:300]


_REJECT_RULES: Final = {
    "MISSING COLUMNS": "ragged_row",
    "TOO MANY COLUMNS": "ragged_row",
    "INVALID ENCODING": "invalid_encoding",
    "INVALID UNICODE": "invalid_encoding",
    "UNQUOTED VALUE": "bad_quotes",
    "UNTERMINATED QUOTES": "bad_quotes",
    "LINE SIZE OVER MAXIMUM": "line_too_long",
}


def _rejected(line: int, kind: str, message: str, text: str, width: int) -> Rejected:
    rule = _REJECT_RULES.get(kind, "unreadable_row")
    text = text.strip("\r\n")
    if rule == "ragged_row":
        found = re.search(r"Found: (\d+)", message)
        words = f"has {found.group(1)} values" if found else "has a different number of values"
        message = f"This row {words} but the header names {width} columns."
    elif rule == "invalid_encoding":
        message = "This row has bytes that are not valid UTF-8 text."
    elif rule == "bad_quotes":
        message = "This row has a quote mark that is not closed or not at the start of a value."
    elif rule == "line_too_long":
        message = f"This row is longer than {_size_words(MAX_LINE_BYTES)}."
    else:
        message = f"This row cannot be read: {message[:200]}"
    return Rejected(row=line, rule=rule, message=message, text=text[:TEXT_PREVIEW])


# ---------------------------------------------------------------------------------- XLSX


def _cell_text(value: object, formats: dict[int, str], index: int) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        fmt = formats.get(index)
        return value.strftime(fmt) if fmt else value.isoformat(sep=" ")
    if isinstance(value, date):
        fmt = formats.get(index)
        return value.strftime(fmt) if fmt else value.isoformat()
    if isinstance(value, time):
        fmt = formats.get(index)
        return value.strftime(fmt) if fmt else value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def read_xlsx(
    path: Path,
    target: Path,
    *,
    date_formats: Callable[[list[str]], dict[int, str]] | None = None,
    progress: Progress | None = None,
) -> RawTable:
    """Read the first worksheet into ``target`` (Parquet of text). Cells holding real
    dates are written in the format the layout expects for their column
    (``date_formats(headers)`` gives it per column position)."""
    from openpyxl import load_workbook

    stream = path.open("rb")  # a stream: the raw store's names have no extension
    try:
        book = load_workbook(stream, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a damaged file
        stream.close()
        raise UnreadableFile(f"The spreadsheet cannot be opened: {error}") from None
    try:
        sheet = book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header_row: tuple[object, ...] | None = None
        header_line = 0
        for header_line, values in enumerate(rows, start=1):  # noqa: B007 - used after
            if any(value not in (None, "") for value in values):
                header_row = values
                break
        if header_row is None:
            raise UnreadableFile("The first worksheet is empty.")
        headers = [
            str(v).replace("\ufeff", "").strip() if v is not None else "" for v in header_row
        ]
        while headers and headers[-1] == "":
            headers.pop()
        if len(headers) > MAX_COLUMNS:
            raise UnreadableFile(f"The sheet has {len(headers)} columns; at most {MAX_COLUMNS}.")
        width = len(headers)
        formats = date_formats(headers) if date_formats else {}
        schema = pa.schema(
            [pa.field("_record", pa.int64())]
            + [pa.field(f"c{i}", pa.string()) for i in range(width)]
        )
        rejected: list[Rejected] = []
        count = 0
        with pq.ParquetWriter(target, schema) as writer:
            batch_rows: list[int] = []
            batch_cols: list[list[str | None]] = [[] for _ in range(width)]

            def flush() -> None:
                if not batch_rows:
                    return
                arrays = [pa.array(batch_rows, pa.int64())] + [
                    pa.array(column, pa.string()) for column in batch_cols
                ]
                writer.write_batch(pa.record_batch(arrays, schema=schema))
                batch_rows.clear()
                for column in batch_cols:
                    column.clear()

            for line, values in enumerate(rows, start=header_line + 1):
                texts = [_cell_text(value, formats, i) for i, value in enumerate(values)]
                if all(text in (None, "") for text in texts):
                    continue
                extra = [text for text in texts[width:] if text not in (None, "")]
                if extra:
                    shown = ", ".join(text or "" for text in texts)
                    rejected.append(
                        Rejected(
                            row=line,
                            rule="ragged_row",
                            message=(f"This row has values beyond the {width} named columns."),
                            text=shown[:TEXT_PREVIEW],
                        )
                    )
                    continue
                batch_rows.append(line - 1)
                for i in range(width):
                    batch_cols[i].append(texts[i] if i < len(texts) else None)
                count += 1
                if len(batch_rows) >= XLSX_BATCH:
                    flush()
                    if progress:
                        progress(count)
            flush()
    finally:
        book.close()
        stream.close()
    return RawTable(
        parquet=target,
        headers=headers,
        rows=count,
        format="xlsx",
        encoding="XLSX",
        delimiter="",
        rejected=rejected,
    )


def batches(table: RawTable, size: int = 131_072) -> Iterator[pa.RecordBatch]:
    """The table's records in file order, each batch with its ``_record`` positions (the
    engine keeps insertion order, so a CSV's records are numbered as they are read)."""
    position = 0
    for batch in pq.ParquetFile(table.parquet).iter_batches(batch_size=size):
        if "_record" not in batch.schema.names:
            records = pa.array(
                np.arange(position + 1, position + 1 + batch.num_rows, dtype=np.int64)
            )
            batch = pa.RecordBatch.from_arrays(
                [records, *batch.columns], names=["_record", *batch.schema.names]
            )
        position += batch.num_rows
        yield batch
