"""A query result as the pages show it: its table (one dimension as rows, two as a cross
table with totals, three as a list), the data a chart is drawn from, and its map.

Charts are drawn in the browser by Plotly from JSON that this module writes; suppressed
cells are ``None`` there (gaps, never numbers). Maps are drawn here, as SVG, from the areas'
boundaries: they need no script, and boundaries that are not loaded are said in words.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import shapely
from shapely.geometry import shape

from safestats.geography import selectors as geography
from safestats.query import maps
from safestats.query.spec import geography_level

if TYPE_CHECKING:
    from safestats.query.compiler import Dimension
    from safestats.query.services import Cell, Result

MAX_ROWS = 1000  # rows of a table shown on the page; downloads have every row
MAX_SERIES = 12  # lines or bar groups in one chart; more are left to the table
MAP_WIDTH = 640
MAP_CLASSES = 5

TIME_TITLES = {
    "day": "Day",
    "week": "Week starting",
    "month": "Month",
    "quarter": "Quarter",
    "year": "Year",
    "hour": "Hour of the day",
    "weekday": "Day of the week",
}
SERIES_UNITS = ("day", "week", "month", "quarter", "year")


def title_of(name: str) -> str:
    """A field or unit name as a heading: ``crime_type`` is "Crime type"; a geography code
    field is named by its level ("Borough")."""
    if name in TIME_TITLES:
        return TIME_TITLES[name]
    words = name.replace("_", " ").strip()
    for level in ("borough", "ward", "lsoa"):
        if name in (f"{level}_code", level):
            return "LSOA" if level == "lsoa" else level.capitalize()
    return words[:1].upper() + words[1:]


def value_title(result: Result) -> str:
    return "Records" if result.value_name == "count" else title_of(result.value_name)


# ----------------------------------------------------------------------------- tables


@dataclass
class TableRow:
    heads: list[str]
    cells: list[Cell]
    total: Cell | None = None


@dataclass
class Table:
    caption: str
    corner: list[str]  # the headers above the row headers
    columns: list[str]  # the headers above the cells
    rows: list[TableRow]
    total_row: TableRow | None = None
    has_total_column: bool = False
    column_title: str = ""  # a cross table's second dimension, over its columns
    truncated: int = 0  # rows left out (shown in downloads)
    extra: list[Table] = field(default_factory=list)


def _caption(result: Result) -> str:
    what = value_title(result)
    if not result.dimensions:
        return f"{what}: {result.dataset.title}"
    by = " and ".join(title_of(d.name).lower() for d in result.dimensions)
    return f"{what} by {by}: {result.dataset.title}, version {result.version.number}"


def table_of(result: Result) -> Table:
    dims = result.dimensions
    value = value_title(result)
    if not dims:
        return Table(
            caption=_caption(result),
            corner=["Records"],
            columns=[value],
            rows=[TableRow(heads=["All records"], cells=[result.grand_total])],
        )
    if len(dims) == 1:
        rows = [TableRow(heads=[cell.labels[0]], cells=[cell]) for cell in result.cells]
        return _limited(
            Table(
                caption=_caption(result),
                corner=[title_of(dims[0].name)],
                columns=[value],
                rows=rows,
                total_row=TableRow(heads=["Total"], cells=[result.grand_total]),
            )
        )
    if len(dims) == 2:
        return _cross(result)
    rows = [TableRow(heads=list(cell.labels), cells=[cell]) for cell in result.cells]
    table = _limited(
        Table(
            caption=_caption(result),
            corner=[title_of(d.name) for d in dims],
            columns=[value],
            rows=rows,
            total_row=TableRow(
                heads=["Total", *[""] * (len(dims) - 1)], cells=[result.grand_total]
            ),
        )
    )
    for dim in dims:
        totals = result.totals.get(dim.name)
        if totals is None:
            continue
        table.extra.append(
            _limited(
                Table(
                    caption=f"{value} by {title_of(dim.name).lower()}, totals over "
                    + _every(d for d in dims if d is not dim),
                    corner=[title_of(dim.name)],
                    columns=[value],
                    rows=[TableRow(heads=[c.labels[0]], cells=[c]) for c in totals],
                )
            )
        )
    return table


def _cross(result: Result) -> Table:
    """Two dimensions: the one with more values down the side, the other across."""
    dims = result.dimensions
    n0, n1 = result.counts_shape
    across = 0 if n0 < n1 else 1
    down = 1 - across

    def cell(i: int, j: int) -> Cell:  # i down, j across
        index = (i, j) if down == 0 else (j, i)
        return result.cells[index[0] * n1 + index[1]]

    n_down, n_across = result.counts_shape[down], result.counts_shape[across]
    totals_down = result.totals.get(dims[down].name)
    totals_across = result.totals.get(dims[across].name)
    columns = [cell(0, j).labels[across] for j in range(n_across)]
    rows = [
        TableRow(
            heads=[cell(i, 0).labels[down]],
            cells=[cell(i, j) for j in range(n_across)],
            total=totals_down[i] if totals_down else None,
        )
        for i in range(n_down)
    ]
    total_row = None
    if totals_across is not None:
        total_row = TableRow(heads=["Total"], cells=list(totals_across), total=result.grand_total)
    return _limited(
        Table(
            caption=_caption(result),
            corner=[title_of(dims[down].name)],
            column_title=title_of(dims[across].name),
            columns=columns,
            rows=rows,
            total_row=total_row,
            has_total_column=totals_down is not None,
        )
    )


def _every(dims: Iterable[Dimension]) -> str:
    return " and ".join(f"every {title_of(d.name).lower()}" for d in dims)


def _limited(table: Table) -> Table:
    if len(table.rows) > MAX_ROWS:
        table.truncated = len(table.rows) - MAX_ROWS
        table.rows = table.rows[:MAX_ROWS]
    return table


# ----------------------------------------------------------------------------- charts


def _number(cell: Cell) -> float | int | None:
    return cell.value


def chart_of(result: Result) -> dict[str, Any] | None:
    """What the browser draws: a line over time, a heatmap of weekday by hour, or bars.
    Suppressed cells are None: gaps, not numbers."""
    dims = result.dimensions
    if not dims:
        return None
    units = [d.time_unit for d in dims]
    base: dict[str, Any] = {
        "title": _caption(result),
        "value_title": value_title(result),
        "suppressed": result.suppressed,
    }
    if units == ["weekday", "hour"]:
        n0, n1 = result.counts_shape
        return base | {
            "kind": "heatmap",
            "x_title": title_of("hour"),
            "y_title": title_of("weekday"),
            "x": [result.cells[j].labels[1] for j in range(n1)],
            "y": [result.cells[i * n1].labels[0] for i in range(n0)],
            "z": [[_number(result.cells[i * n1 + j]) for j in range(n1)] for i in range(n0)],
        }
    time_index = next((i for i, d in enumerate(dims) if d.time_unit is not None), None)
    if time_index is not None and len(dims) <= 2:
        kind = "line" if dims[time_index].time_unit in SERIES_UNITS else "bar"
        return base | _series(result, time_index, kind)
    if len(dims) <= 2:
        return base | _series(result, 0, "bar")
    return None  # three dimensions: the table says it best


def _series(result: Result, x_index: int, kind: str) -> dict[str, Any]:
    dims = result.dimensions
    shape_ = result.counts_shape
    x_dim = dims[x_index]
    if len(dims) == 1:
        x = [cell.labels[0] for cell in result.cells]
        series = [{"name": value_title(result), "values": [_number(c) for c in result.cells]}]
    else:
        other = 1 - x_index
        n1 = shape_[1]

        def at(i_x: int, i_other: int) -> Cell:
            index = (i_x, i_other) if x_index == 0 else (i_other, i_x)
            return result.cells[index[0] * n1 + index[1]]

        x = [at(i, 0).labels[x_index] for i in range(shape_[x_index])]
        series = [
            {
                "name": at(0, k).labels[other],
                "values": [_number(at(i, k)) for i in range(shape_[x_index])],
            }
            for k in range(shape_[other])
        ]
        # Groups with nothing in them are left out; too many groups for one chart are
        # drawn as their total, when the result has it.
        series = [s for s in series if any(v != 0 for v in s["values"])] or series[:1]
        if len(series) > MAX_SERIES:
            totals = result.totals.get(x_dim.name)
            series = (
                [
                    {
                        "name": f"All {title_of(dims[other].name).lower()}",
                        "values": [_number(c) for c in totals],
                    }
                ]
                if totals
                else []
            )
    return {
        "kind": kind,
        "x_title": title_of(x_dim.name),
        "x": x,
        "series": series,
        "too_many": not series,
    }


# ------------------------------------------------------------------------------- maps


@dataclass
class MapArea:
    code: str
    name: str
    path: str
    shown: str
    css: str  # the colour class


@dataclass
class Legend:
    css: str
    words: str


@dataclass
class Map:
    level: str
    caption: str
    width: int
    height: int
    areas: list[MapArea] = field(default_factory=list)
    legend: list[Legend] = field(default_factory=list)
    absent: str = ""  # boundaries not loaded: this says so
    suppressed: int = 0


def _kept(result: Result, level: str, codes: set[str]) -> set[str] | None:
    """The areas to draw when the query kept only some areas (those of the result that it
    kept, at the map's level), else None: every area of the level."""
    query = result.query
    spec = result.dataset.parsed_spec()
    geography_fields = {f.name for f in spec.fields if f.role == "geography"}
    if not query.areas and not any(item.field in geography_fields for item in query.filters):
        return None
    kept = set(codes)
    if query.areas and query.area_level == level:
        kept &= set(query.areas)
    for item in query.filters:
        if item.field in geography_fields and geography_level(spec, item.field) == level:
            kept &= set(item.values)
    return kept


def map_of(result: Result) -> Map | None:
    found = maps.area_dimension(result)
    if found is None:
        return None
    index, level = found
    dim: Dimension = result.dimensions[index]
    caption = f"Map of {value_title(result).lower()} by {title_of(dim.name).lower()}"
    if len(result.dimensions) > 1:
        caption += ", totals over " + _every(d for d in result.dimensions if d is not dim)
    areas = geography.areas_for_map(level, maps.VINTAGES[level])  # type: ignore[arg-type]
    if isinstance(areas, geography.BoundariesAbsent):
        return Map(level=level, caption=caption, width=0, height=0, absent=areas.message)
    values = maps.map_values(result)
    features = areas.feature_collection["features"]
    kept = _kept(result, level, set(values))
    if kept is not None:
        features = [f for f in features if f["properties"]["code"] in kept]
    if not features:
        return Map(
            level=level,
            caption=caption,
            width=0,
            height=0,
            absent="None of the areas in this result has a boundary loaded.",
        )
    geometries = [shape(f["geometry"]) for f in features]
    min_x, min_y, max_x, max_y = shapely.total_bounds(geometries)
    scale_x = math.cos(math.radians((min_y + max_y) / 2))
    span_x = max((max_x - min_x) * scale_x, 1e-9)
    span_y = max(max_y - min_y, 1e-9)
    pixels = MAP_WIDTH / max(span_x, span_y)
    width = round(span_x * pixels)
    height = round(span_y * pixels)
    tolerance = 0.5 / pixels  # half a pixel, in degrees
    shown_values = [v for v, _ in values.values() if v is not None]
    breaks = _breaks(shown_values)
    drawn = []
    suppressed = 0
    for feature, geometry in zip(features, geometries, strict=True):
        code = feature["properties"]["code"]
        value, shown = values.get(code, (0, "0"))
        if value is None:
            css = "safestats-map__area--suppressed"
            suppressed += 1
        else:
            css = f"safestats-map__area--{_class_of(value, breaks)}"
        simple = geometry.simplify(tolerance, preserve_topology=True)
        path = _path(simple, min_x, max_y, scale_x, pixels)
        drawn.append(
            MapArea(
                code=code,
                name=str(feature["properties"].get("name") or code),
                path=path,
                shown=shown,
                css=css,
            )
        )
    return Map(
        level=level,
        caption=caption,
        width=max(width, 1),
        height=max(height, 1),
        areas=drawn,
        legend=_legend(breaks, suppressed),
        suppressed=suppressed,
    )


def _breaks(values: list[float | int]) -> list[float]:
    """Upper bounds of the colour classes above zero: equal steps up to the largest."""
    top = max(values, default=0)
    if top <= 0:
        return []
    step = top / MAP_CLASSES
    return [step * (k + 1) for k in range(MAP_CLASSES)]


def _class_of(value: float | int, breaks: list[float]) -> int:
    if value <= 0 or not breaks:
        return 0
    for k, upper in enumerate(breaks, start=1):
        if value <= upper + 1e-9:
            return k
    return len(breaks)


def _legend(breaks: list[float], suppressed: int) -> list[Legend]:
    items = [Legend("safestats-map__area--0", "0")]
    lower = 0.0
    for k, upper in enumerate(breaks, start=1):
        items.append(
            Legend(f"safestats-map__area--{k}", f"more than {_nice(lower)} to {_nice(upper)}")
        )
        lower = upper
    if suppressed:
        items.append(Legend("safestats-map__area--suppressed", "[c] suppressed"))
    return items


def _nice(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def _path(geometry: Any, min_x: float, max_y: float, scale_x: float, pixels: float) -> str:
    parts: list[str] = []
    polygons = getattr(geometry, "geoms", [geometry])
    for polygon in polygons:
        if polygon.is_empty or not hasattr(polygon, "exterior"):
            continue
        for ring in [polygon.exterior, *polygon.interiors]:
            points = [
                f"{(x - min_x) * scale_x * pixels:.1f},{(max_y - y) * pixels:.1f}"
                for x, y in ring.coords
            ]
            if len(points) > 2:
                parts.append("M" + "L".join(points) + "Z")
    return "".join(parts)
