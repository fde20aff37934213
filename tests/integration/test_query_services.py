"""Queries and extracts through the real pipeline, engine, policy and audit log: counts equal
counts taken straight from the files; disclosure control on every output; the agreement's
limits; extracts' exact content and hash; jigsaw alerts; the command line."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections import Counter
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from safestats.audit.models import AuditEvent
from safestats.query import services
from safestats.query.models import JigsawAlert
from safestats.query.spec import Filter, QuerySpec
from tests.ingest_helpers import stores  # noqa: F401 - fixture
from tests.integration.geography_files import EAST
from tests.query_helpers import load_query_data
from tests.signin import make_agreement, make_member, make_organisation

pytestmark = pytest.mark.django_db


@pytest.fixture
def loaded(stores: Path, tmp_path: Path) -> Path:  # noqa: F811
    """The shared query data set, published; the street file it came from."""
    return load_query_data(tmp_path)


@pytest.fixture
def analyst() -> object:
    camden = make_organisation()
    make_agreement(
        camden,
        ("police-uk-street", "record", "snapped_point", ()),
        ("las-violence-dispatches", "aggregate", "ward", ("sex",)),
    )
    return make_member(camden, "ana@camden.gov.uk")


def test_operator_counts_equal_counts_straight_from_the_file(loaded: Path) -> None:
    query = QuerySpec(dataset="police-uk-street", group_by=["crime_type"], time_unit="month")
    result = services.run_query(query)
    shown = {(cell.codes[0], cell.codes[1]): cell.value for cell in result.cells if cell.value}
    with loaded.open(encoding="utf-8") as handle:
        expected = Counter((row["Crime type"], row["Month"]) for row in csv.DictReader(handle))
    assert shown == dict(expected)
    assert result.version.number == 1
    assert result.rules == [
        "No disclosure control: this data is already published openly (data.police.uk "
        "street-level files, Open Government Licence v3.0), and is shown as published."
    ]
    event = AuditEvent.objects.filter(event="query.run").latest("seq")
    assert event.actor_label == "operator"
    assert event.payload["version"] == 1
    assert event.payload["query"]["group_by"] == ["crime_type"]


def test_small_counts_are_suppressed_with_secondary_suppression(loaded: Path) -> None:
    result = services.run_query(
        QuerySpec(dataset="las-violence-dispatches", group_by=["injury_type"])
    )
    shown = {cell.codes[0]: cell.shown for cell in result.cells}
    # 30 assaults (rounded to 5), 7 stabbings and 3 gunshots are below k=8: suppressed.
    assert shown["assault"] == "30"
    assert shown["stab"] == "[c]" and shown["gunshot"] == "[c]"
    assert shown["glassing"] == "0" and shown["other"] == "0"
    for cell in result.cells:
        assert cell.value is None or cell.value == 0 or cell.value >= 8
    assert any("suppressed" in rule for rule in result.rules)


def test_a_count_of_matching_records_is_a_protected_one_cell_query(loaded: Path) -> None:
    with loaded.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    street = services.count_matching(
        QuerySpec(dataset="police-uk-street", group_by=["crime_type"], time_unit="month")
    )
    assert street.cells == [] and street.dimensions == []
    assert street.grand_total.value == len(rows)  # published openly: no control
    burglary = QuerySpec(
        dataset="police-uk-street", filters=[Filter(field="crime_type", values=["Burglary"])]
    )
    assert services.count_matching(burglary).grand_total.value == sum(
        row["Crime type"] == "Burglary" for row in rows
    )
    dispatches = QuerySpec(dataset="las-violence-dispatches")
    every = services.count_matching(dispatches)
    grouped = services.run_query(dispatches.model_copy(update={"group_by": ["injury_type"]}))
    assert every.grand_total.value == grouped.grand_total.value == 40
    assert every.rules == grouped.rules
    stabs = QuerySpec(
        dataset="las-violence-dispatches",
        filters=[Filter(field="injury_type", values=["stab"])],
    )
    hidden = services.count_matching(stabs).grand_total
    assert hidden.value is None and hidden.shown == "[c]" and hidden.primary  # 7 < k=8
    ran = AuditEvent.objects.filter(event="query.run").latest("seq")
    assert ran.payload["purpose"] == "count" and ran.payload["suppressed"] == 1
    assert ran.payload["query"] == stabs.as_json()


def test_the_agreement_limits_every_query(loaded: Path, analyst: object) -> None:
    refused = QuerySpec(dataset="las-violence-dispatches", group_by=["sex"])
    with pytest.raises(services.QueryError) as error:
        services.run_query(refused, user=analyst)
    assert error.value.problems == [
        "Your organisation's agreement withholds sex: it cannot be grouped."
    ]
    finer = QuerySpec(dataset="las-violence-dispatches", group_by=["lsoa_code"])
    with pytest.raises(services.QueryError, match="more precise"):
        services.run_query(finer, user=analyst)
    result = services.run_query(
        QuerySpec(dataset="las-violence-dispatches", group_by=["ward_code"]), user=analyst
    )
    assert result.actor_label == "ana@camden.gov.uk"
    with pytest.raises(services.QueryRefused, match="only aggregate results"):
        services.extract(
            QuerySpec(dataset="las-violence-dispatches"), fmt="csv", out=io.BytesIO(), user=analyst
        )


def test_an_extract_has_the_allowed_columns_an_about_line_and_an_audited_hash(
    loaded: Path, analyst: object
) -> None:
    out = io.BytesIO()
    query = QuerySpec(dataset="police-uk-street", date_from="2024-02", date_to="2024-02")
    done = services.extract(query, fmt="csv", out=out, user=analyst)
    data = out.getvalue()
    text = data.decode("utf-8")
    assert text.startswith("\ufeff")
    lines = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert lines[0][0].startswith("SafeStats: police-uk-street version 1; query ")
    assert "points moved to the centre of their 250 m grid square" in lines[0][0]
    assert "location" not in lines[1]  # "On or near ..." is as fine as a point
    assert lines[1][:2] == ["crime_id", "month"]
    assert len(lines) == 2 + 9 and done.rows == 9
    longitude = lines[1].index("longitude")
    assert {row[longitude] for row in lines[2:]} != {str(EAST[0] + 0.004)}
    event = AuditEvent.objects.filter(event="query.extracted").latest("seq")
    assert event.payload["sha256"] == hashlib.sha256(data).hexdigest() == done.sha256
    assert event.payload["rows"] == 9 and event.payload["format"] == "csv"


@pytest.mark.parametrize("fmt", ["csv", "json", "xlsx", "geojson"])
def test_withheld_fields_are_absent_from_every_format(loaded: Path, fmt: str) -> None:
    org = make_organisation("Met", "met.police.uk", type="police")
    make_agreement(
        org, ("police-uk-street", "record", "lsoa", ("context", "last_outcome_category"))
    )
    user = make_member(org, "pc@met.police.uk")
    out = io.BytesIO()
    if fmt == "geojson":
        with pytest.raises(ValueError, match="GeoJSON needs the records' points"):
            services.extract(QuerySpec(dataset="police-uk-street"), fmt=fmt, out=out, user=user)
        return
    done = services.extract(QuerySpec(dataset="police-uk-street"), fmt=fmt, out=out, user=user)
    for hidden in ("context", "last_outcome_category", "longitude", "latitude", "location"):
        assert hidden not in done.columns
        if fmt == "json":
            assert hidden not in json.loads(out.getvalue())["records"][0]
    assert "lsoa_code" in done.columns


def test_record_downloads_of_two_datasets_for_the_same_small_area_raise_an_alert(
    loaded: Path,
) -> None:
    org = make_organisation("Met", "met.police.uk", type="police")
    make_agreement(
        org,
        ("police-uk-street", "record", "point", ()),
        ("las-violence-dispatches", "record", "point", ()),
    )
    user = make_member(org, "pc@met.police.uk")
    area = [Filter(field="lsoa_code", values=["E01004737"])]
    services.extract(
        QuerySpec(dataset="police-uk-street", filters=area, date_from="2024-01"),
        fmt="csv", out=io.BytesIO(), user=user,
    )  # fmt: skip
    assert not JigsawAlert.objects.exists()
    services.extract(
        QuerySpec(dataset="las-violence-dispatches", area_level="lsoa", areas=["E01004737"],
                  date_from="2024-01", date_to="2024-01"),
        fmt="csv", out=io.BytesIO(), user=user,
    )  # fmt: skip
    alert = JigsawAlert.objects.get()
    assert alert.datasets == ["las-violence-dispatches", "police-uk-street"]
    assert "E01004737" in alert.areas
    assert AuditEvent.objects.filter(event="query.jigsaw_alert").count() == 1


def test_the_query_command_prints_the_controlled_table(
    loaded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    call_command("query", "las-violence-dispatches", "--by", "injury_type", "--no-about")
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "injury_type,injury_type_label,count",
        "assault,Assault,30",
        "stab,Stabbing,[c]",
        "gunshot,Gunshot,[c]",
        "glassing,Glassing,0",
        "other,Other violence-related injury,0",
    ]
    with pytest.raises(CommandError, match="'Nonsense' is not a value of crime_type"):
        call_command("query", "police-uk-street", "--by", "month", "--where", "crime_type=Nonsense")


def test_a_weekday_by_hour_grid_labels_both_dimensions_and_keeps_every_hour(
    loaded: Path,
) -> None:
    result = services.run_query(
        QuerySpec(dataset="las-violence-dispatches", time_unit="weekday_hour")
    )
    assert [d.name for d in result.dimensions] == ["weekday", "hour"]
    assert result.counts_shape == (7, 24)
    first = result.cells[0]
    assert first.labels == ("Monday", "00:00") and first.codes == ("1", "0")
    assert set(result.totals) == {"weekday", "hour"}
    assert sum(1 for cell in result.cells if cell.value is None) == result.suppressed
