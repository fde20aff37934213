"""Results by area as maps: the areas' boundaries with each area's (disclosure-controlled)
value, for the choropleth and for GeoJSON downloads."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from safestats.geography import selectors as geography
from safestats.query.spec import geography_level

if TYPE_CHECKING:
    from safestats.query.services import Result

VINTAGES = {"borough": "", "ward": "WD25", "lsoa": "2021"}


def area_dimension(result: Result) -> tuple[int, str] | None:
    """The position and level of the result's first dimension that is an area."""
    spec = result.dataset.parsed_spec()
    for index, dimension in enumerate(result.dimensions):
        if dimension.time_unit is None:
            level = geography_level(spec, dimension.field)
            if level in VINTAGES:
                return index, level
    return None


def map_values(result: Result) -> dict[str, tuple[float | int | None, str]]:
    """Each area's value and what to show for it, summed over any other dimension only
    when the result has no other dimension (otherwise the area's own total is used)."""
    found = area_dimension(result)
    if found is None:
        return {}
    index, _ = found
    if len(result.dimensions) == 1:
        return {
            cell.codes[0]: (cell.value, cell.shown)
            for cell in result.cells
            if cell.codes[0] is not None
        }
    totals = result.totals.get(result.dimensions[index].name, [])
    return {cell.codes[0]: (cell.value, cell.shown) for cell in totals if cell.codes[0]}


def result_geojson(result: Result) -> dict[str, Any]:
    found = area_dimension(result)
    if found is None:
        raise ValueError("GeoJSON is for results grouped by borough, ward or LSOA.")
    _, level = found
    areas = geography.areas_for_map(level, VINTAGES[level])  # type: ignore[arg-type]
    about = result.about()
    if isinstance(areas, geography.BoundariesAbsent):
        raise ValueError(areas.message)
    values = map_values(result)
    features = []
    for feature in areas.feature_collection["features"]:
        code = feature["properties"]["code"]
        value, shown = values.get(code, (0, "0"))
        properties = dict(feature["properties"]) | {result.value_name: value, "shown": shown}
        features.append(feature | {"properties": properties})
    return {"type": "FeatureCollection", "about": about, "features": features}
