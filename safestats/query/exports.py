"""Writing query results and record-level extracts as files: CSV (UTF-8 with a byte-order
mark for Excel, safe against formula injection), XLSX (constant memory), JSON and GeoJSON.

Every file names what it holds: CSV starts with a line saying the dataset, its version,
the query and the disclosure rules; XLSX has an "About" sheet; JSON and GeoJSON carry an
``about`` member. Record-level extracts are written batch by batch (CSV by DuckDB's own
writer, to a scratch file copied out a chunk at a time), so their size does not change the
memory they need.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import date, datetime, time
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
from django.conf import settings

from safestats.audit.selectors import safe_cell
from safestats.catalogue.spec import DatasetSpec, Location
from safestats.geography import engine as geo

if TYPE_CHECKING:
    from safestats.query.services import Result

FORMATS = ("csv", "xlsx", "json", "geojson")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
    "geojson": "application/geo+json",
}


def about_line(about: dict[str, Any]) -> str:
    query = json.dumps(about.get("query", {}), sort_keys=True, separators=(",", ":"))
    rules = " ".join(about.get("disclosure_control", [])) or "none"
    return (
        f"SafeStats: {about['dataset']} version {about['version']}; query {query}; "
        f"disclosure control: {rules}"
    )


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return str(value)


class _Lines:
    def write(self, value: str) -> str:
        return value


def _csv_rows(
    header: list[str], rows: Iterable[Iterable[Any]], about: dict[str, Any]
) -> Iterator[str]:
    writer = csv.writer(_Lines())
    yield "\ufeff" + writer.writerow([safe_cell(about_line(about))])
    yield writer.writerow([safe_cell(name) for name in header])
    for row in rows:
        yield writer.writerow([safe_cell(_text(value)) for value in row])


CHUNK_BYTES = 1 << 20


def write_csv(
    parts: Sequence[Callable[[Path], int]], columns: list[str], about: dict[str, Any], out: Any
) -> int:
    """A record-level extract as CSV: the byte-order mark, the about line and the header,
    then the records. Each of ``parts`` writes its share of them, in order (formula-safe
    CSV text, no header; see ``compiler.csv_select``), to a scratch file of its own and
    returns how many; the total is returned.

    The parts run at once, each in a thread of its own (DuckDB lets go of the GIL while it
    writes), and each scratch file is copied to ``out`` a chunk at a time as it grows, the
    first part's to its end, then the next, so that whatever ``out`` does with the bytes
    (hashing them, writing them to another file) overlaps the writing. A scratch file only
    ever grows (DuckDB's CSV writer appends) and is read to its end once its part has
    returned. The scratch files are removed however this ends."""
    scratch: list[Path] = []
    try:
        for _ in parts:
            handle, name = tempfile.mkstemp(
                dir=settings.SAFESTATS_TMP_DIR, prefix="extract-body-", suffix=".csv"
            )
            os.close(handle)
            scratch.append(Path(name))
        for line in _csv_rows(columns, [], about):
            out.write(line.encode("utf-8"))
        count = 0
        with ThreadPoolExecutor(len(parts), thread_name_prefix="csv-extract") as pool:
            writing = [pool.submit(part, path) for part, path in zip(parts, scratch, strict=True)]
            for done, path in zip(writing, scratch, strict=True):
                with path.open("rb") as records:
                    while True:
                        chunk = records.read(CHUNK_BYTES)
                        if chunk:
                            out.write(chunk)
                        elif done.done():
                            break
                        else:
                            wait([done], timeout=0.01)
                    count += done.result()  # raises what the writing raised
                    for chunk in iter(lambda: records.read(CHUNK_BYTES), b""):
                        out.write(chunk)  # what was written after the last read above
        return count
    finally:
        for path in scratch:
            path.unlink(missing_ok=True)


def _batch_rows(batches: Iterable[pa.RecordBatch], columns: list[str]) -> Iterator[tuple[Any, ...]]:
    for batch in batches:
        values = [batch.column(name).to_pylist() for name in columns]
        yield from zip(*values, strict=True)


class _Counter:
    def __init__(self, rows: Iterable[tuple[Any, ...]]) -> None:
        self.rows = rows
        self.count = 0

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        for row in self.rows:
            self.count += 1
            yield row


def write(
    fmt: str,
    batches: Iterable[pa.RecordBatch],
    columns: list[str],
    about: dict[str, Any],
    out: Any,
    spec: DatasetSpec,
) -> int:
    """Write a record-level extract as XLSX, JSON or GeoJSON; returns the number of
    records written. (CSV is :func:`write_csv`: DuckDB writes the records.)"""
    rows = _Counter(_batch_rows(batches, columns))
    if fmt == "json":
        _json(rows, columns, about, out)
    elif fmt == "xlsx":
        _xlsx(rows, columns, about, out)
    elif fmt == "geojson":
        location = spec.location
        if location is None or location.x not in columns or location.y not in columns:
            raise ValueError(
                "GeoJSON needs the records' points, and this extract has none (the dataset "
                "has no points, or the agreement allows no locations this precise)."
            )
        _geojson_points(rows, columns, about, out, location)
    else:
        raise ValueError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
    return rows.count


def _json_value(value: Any) -> Any:
    if isinstance(value, date | datetime | time):
        return value.isoformat()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _json(
    rows: Iterable[tuple[Any, ...]], columns: list[str], about: dict[str, Any], out: Any
) -> None:
    out.write(b'{"about": ' + json.dumps(about).encode() + b', "records": [')
    first = True
    for row in rows:
        record = {name: _json_value(value) for name, value in zip(columns, row, strict=True)}
        out.write((b"" if first else b", ") + json.dumps(record).encode())
        first = False
    out.write(b"]}\n")


def _xlsx(
    rows: Iterable[tuple[Any, ...]], columns: list[str], about: dict[str, Any], out: Any
) -> None:
    import xlsxwriter

    # constant_memory: rows go to disk as they are written; the finished file is then
    # copied out in chunks, so neither the rows nor the file are held in memory.
    scratch = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed below
        dir=settings.SAFESTATS_TMP_DIR, suffix=".xlsx", delete=False
    )
    scratch.close()
    book = xlsxwriter.Workbook(
        scratch.name,
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "tmpdir": str(settings.SAFESTATS_TMP_DIR),
        },
    )
    info = book.add_worksheet("About")
    info.write_row(0, 0, ["SafeStats extract"])
    info.write_row(1, 0, ["Dataset", f"{about['dataset_title']} ({about['dataset']})"])
    info.write_row(2, 0, ["Version", about["version"]])
    info.write_row(3, 0, ["Query", json.dumps(about.get("query", {}), sort_keys=True)])
    for index, rule in enumerate(about.get("disclosure_control", [])):
        info.write_row(4 + index, 0, ["Disclosure control" if index == 0 else "", rule])
    sheet = book.add_worksheet("Data")
    bold = book.add_format({"bold": True})
    sheet.write_row(0, 0, columns, bold)
    date_format = book.add_format({"num_format": "yyyy-mm-dd"})
    time_format = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    for number, row in enumerate(rows, start=1):
        for column, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, datetime):
                sheet.write_datetime(number, column, value, time_format)
            elif isinstance(value, date):
                sheet.write_datetime(
                    number,
                    column,
                    datetime(value.year, value.month, value.day),  # noqa: DTZ001 - a date cell
                    date_format,
                )
            elif isinstance(value, bool | int | float):
                sheet.write_number(number, column, float(value))
            else:
                sheet.write_string(number, column, str(value))
    try:
        book.close()
        with open(scratch.name, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                out.write(chunk)
    finally:
        os.unlink(scratch.name)


def _geojson_points(
    rows: Iterable[tuple[Any, ...]],
    columns: list[str],
    about: dict[str, Any],
    out: Any,
    location: Location,
) -> None:
    x_index, y_index = columns.index(location.x), columns.index(location.y)
    out.write(b'{"type": "FeatureCollection", "about": ' + json.dumps(about).encode())
    out.write(b', "features": [')
    first = True
    for row in rows:
        x, y = row[x_index], row[y_index]
        geometry = None
        if x is not None and y is not None:
            if location.crs == "bng":
                lon, lat = geo.bng_to_wgs84([x], [y])
                x, y = float(lon[0]), float(lat[0])
            geometry = {"type": "Point", "coordinates": [round(x, 6), round(y, 6)]}
        properties = {
            name: _json_value(value)
            for i, (name, value) in enumerate(zip(columns, row, strict=True))
            if i not in (x_index, y_index)
        }
        feature = {"type": "Feature", "geometry": geometry, "properties": properties}
        out.write((b"" if first else b", ") + json.dumps(feature).encode())
        first = False
    out.write(b"]}\n")


def snapped(
    batches: Iterable[pa.RecordBatch], location: Location, metres: int
) -> Iterator[pa.RecordBatch]:
    """Each batch with its points moved to the centre of their grid square."""
    for batch in batches:
        names = batch.schema.names
        if location.x not in names or location.y not in names:
            yield batch
            continue
        x = np.asarray(batch.column(location.x).to_numpy(zero_copy_only=False), dtype=float)
        y = np.asarray(batch.column(location.y).to_numpy(zero_copy_only=False), dtype=float)
        if location.crs == "bng":
            sx, sy = geo.snap_to_grid(x, y, metres)
        else:
            sx, sy = geo.snap_lonlat_to_grid(x, y, metres)
        arrays = []
        for name in names:
            if name in (location.x, location.y):
                values = sx if name == location.x else sy
                finite = np.isfinite(values)
                arrays.append(pa.array(np.where(finite, values, 0.0), mask=~finite))
            else:
                arrays.append(batch.column(name))
        yield pa.RecordBatch.from_arrays(arrays, names=names)


# ------------------------------------------------------------------ aggregate results


def _labelled(result: Result) -> list[bool]:
    """For each dimension, whether its labels say more than its codes (a code list whose
    labels differ, borough names): then both are written."""
    out = []
    for index, dimension in enumerate(result.dimensions):
        differs = dimension.time_unit is None and any(
            cell.codes[index] is not None and cell.labels[index] != cell.codes[index]
            for cell in result.cells
        )
        out.append(differs)
    return out


def result_header(result: Result) -> list[str]:
    """One column per dimension (the value as stored: a code, a period), then its label
    where that differs, then the count or the measure."""
    header: list[str] = []
    for dimension, labelled in zip(result.dimensions, _labelled(result), strict=True):
        header.append(dimension.label)
        if labelled:
            header.append(f"{dimension.label}_label")
    return [*header, result.value_name]


def result_rows(result: Result) -> Iterator[list[Any]]:
    labelled = _labelled(result)
    for cell in result.cells:
        row: list[Any] = []
        for index, dimension in enumerate(result.dimensions):
            code = cell.codes[index]
            if dimension.time_unit is not None or code is None:
                row.append(cell.labels[index])
            else:
                row.append(code)
            if labelled[index]:
                row.append(cell.labels[index])
        row.append(cell.shown)
        yield row


def write_result(fmt: str, result: Result, out: IO[bytes]) -> None:
    """A disclosure-controlled result as a file; suppressed cells are [c]."""
    about = result.about()
    if fmt == "csv":
        for line in _csv_rows(result_header(result), result_rows(result), about):
            out.write(line.encode("utf-8"))
    elif fmt == "json":
        payload = {
            "about": about,
            "columns": result_header(result),
            "rows": [
                {
                    **{
                        dim.label: label
                        for dim, label in zip(result.dimensions, cell.labels, strict=True)
                    },
                    **{
                        f"{dim.label}_code": code
                        for dim, code in zip(result.dimensions, cell.codes, strict=True)
                    },
                    result.value_name: cell.value if cell.value is not None else cell.shown,
                }
                for cell in result.cells
            ],
            "total": result.grand_total.value
            if result.grand_total.value is not None
            else result.grand_total.shown,
        }
        out.write(json.dumps(payload, indent=1).encode("utf-8"))
    elif fmt == "xlsx":
        _xlsx(
            (tuple(row) for row in result_rows(result)),
            result_header(result),
            about | {"dataset_title": result.dataset.title},
            out,
        )
    elif fmt == "geojson":
        from safestats.query.maps import result_geojson

        out.write(json.dumps(result_geojson(result)).encode("utf-8"))
    else:
        raise ValueError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
