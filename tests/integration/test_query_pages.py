"""The query pages through real sign-in, the access policy, the engine and the audit log:
the builder works as a plain GET form, offers only what the agreement allows and shows the
policy's words when more is asked; results carry their rules and version; downloads are
exact, hashed and audited; record extracts only where the agreement grants records; saved
queries are private, shared or hidden; jigsaw alerts are for platform administrators."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from pathlib import Path
from typing import Any

import pytest
from django.http import FileResponse
from django.test import Client
from openpyxl import load_workbook

from safestats.audit.models import AuditEvent
from safestats.geography.models import Borough
from safestats.query import exports, services
from safestats.query.models import JigsawAlert, SavedQuery
from safestats.query.spec import QuerySpec
from tests.ingest_helpers import stores  # noqa: F401 - fixture
from tests.platform import event, signed_in, signed_in_admin, text
from tests.query_helpers import LAS_ID, load_query_data
from tests.signin import csrf_from, make_agreement, make_member, make_organisation

pytestmark = pytest.mark.django_db

BY_INJURY = f"/query/{LAS_ID}?run=1&group_by=injury_type"


@pytest.fixture
def loaded(stores: Path, tmp_path: Path) -> Path:  # noqa: F811
    """Geography, the catalogue, 24 street-level crimes and 40 ambulance dispatches."""
    load_query_data(tmp_path)
    return stores


@pytest.fixture
def camden() -> Any:
    organisation = make_organisation()
    make_agreement(
        organisation,
        ("police-uk-street", "record", "snapped_point", ()),
        (LAS_ID, "aggregate", "ward", ("sex",)),
    )
    return organisation


@pytest.fixture
def analyst(camden: Any) -> Any:
    return make_member(camden, "ana@camden.gov.uk")


@pytest.fixture
def client(analyst: Any) -> Client:
    return signed_in(analyst)


def test_the_builder_works_without_javascript_and_shows_suppressed_cells_and_rules(
    loaded: Path, client: Client
) -> None:
    form = client.get(f"/query/{LAS_ID}")
    assert form.status_code == 200
    page = form.content.decode()
    assert 'method="get"' in page and 'name="run"' in page
    assert 'id="results"' in page and "<table" not in page.split('id="results"')[1]
    assert "style=" not in page  # the Content Security Policy allows no inline style

    response = client.get(BY_INJURY)
    assert response.status_code == 200
    ran = event("query.run")
    assert ran.actor_label == "ana@camden.gov.uk" and ran.payload["suppressed"] == 2
    html = response.content.decode()
    words = text(response)
    rows = dict(
        re.findall(
            r'<th scope="row" class="govuk-table__header">([^<]+)</th>\s*<td[^>]*>([^<]+)</td>',
            html,
        )
    )
    assert rows["Assault"] == "30"
    assert rows["Stabbing"] == "[c]" and rows["Gunshot"] == "[c]"
    assert rows["Glassing"] == "0"
    assert "[c] means the value is suppressed to protect confidentiality" in words
    assert "2 of the 5 cells in this table are suppressed" in words
    result = services.run_query(QuerySpec(dataset=LAS_ID, group_by=["injury_type"]))
    for rule in result.rules:
        assert rule in words
    assert "Version 1 of London Ambulance Service dispatches" in words
    assert (
        '<caption class="govuk-table__caption govuk-table__caption--m">Records by injury type'
        in html
    )
    # The chart's data: suppressed cells are null (gaps), and said to be.
    data = re.search(r'<script id="chart-data" type="application/json">(.*?)</script>', html)
    assert data is not None
    assert '"values": [30, null, null, 0, 0]' in data.group(1)
    assert "2 suppressed cells are not plotted" in words
    # Aggregate-only: no record downloads.
    assert 'id="extracts"' not in html
    assert f"/query/{LAS_ID}/download.csv?run=1&amp;group_by=injury_type" in html


def test_a_withheld_field_is_not_offered_and_is_refused_in_the_agreements_words(
    loaded: Path, client: Client
) -> None:
    page = client.get(f"/query/{LAS_ID}").content.decode()
    assert 'name="group_by" type="checkbox" value="injury_type"' in page
    assert 'name="group_by" type="checkbox" value="sex"' not in page
    assert 'value="lsoa_code"' not in page  # finer than the agreement's wards
    offered = page.split('id="not-offered"')[1].split("</div>")[0]
    assert "<code>sex</code>: Your organisation&#x27;s agreement withholds it." in offered
    assert "<code>lsoa_code</code>: It is more precise (LSOA) than your agreement" in offered
    forced = client.get(f"/query/{LAS_ID}?run=1&group_by=sex")
    assert forced.status_code == 200
    summary = forced.content.decode().split('class="govuk-error-summary"')[1].split("</div>")[0]
    assert "Your organisation&#x27;s agreement withholds sex: it cannot be grouped." in summary
    assert "Error: Query" in text(forced)
    assert 'id="result-table"' not in forced.content.decode()
    bad = client.get(f"/query/{LAS_ID}?run=1&date_from=January&group_by=nonsense")
    assert "Enter the first month as a year and month, like 2024-01" in text(bad)
    assert "Choose only fields from the list to group by" in text(bad)
    assert 'href="#id_group_by_0"' in bad.content.decode()


def test_someone_without_an_agreement_is_refused_with_the_policys_reason(loaded: Path) -> None:
    hackney = make_organisation("Hackney CSP", "hackney.gov.uk")
    client = signed_in(make_member(hackney, "hal@hackney.gov.uk"))
    for path in (f"/query/{LAS_ID}", BY_INJURY, f"/query/{LAS_ID}/download.csv?run=1"):
        response = client.get(path)
        assert response.status_code == 403, path
        assert (
            "Hackney CSP has no data sharing agreement in force that covers the "
            "las-violence-dispatches dataset." in text(response)
        )
    assert not AuditEvent.objects.filter(event="query.downloaded").exists()
    home = client.get("/query")
    assert home.status_code == 200 and "nothing you can query yet" in text(home)
    assert 'href="/query"' not in client.get("/").content.decode()


def test_the_query_link_and_the_list_of_datasets(loaded: Path, client: Client) -> None:
    assert ">Query</a>" in client.get("/").content.decode()
    page = client.get("/query")
    assert f'href="/query/{LAS_ID}"' in page.content.decode()
    assert 'href="/query/police-uk-street"' in page.content.decode()
    assert "Totals only" in text(page) and "Individual records and totals" in text(page)


def test_a_csv_download_is_exact_and_audited_with_its_hash(
    loaded: Path, client: Client, analyst: Any
) -> None:
    response = client.get(f"/query/{LAS_ID}/download.csv?run=1&group_by=injury_type")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(
        r'attachment; filename="las-violence-dispatches-v1-\d{8}-\d{4}\.csv"',
        response["Content-Disposition"],
    )
    data = response.content
    expected = services.run_query(QuerySpec(dataset=LAS_ID, group_by=["injury_type"]))
    lines = list(csv.reader(io.StringIO(data.decode("utf-8").removeprefix("\ufeff"))))
    assert lines == [
        [exports.about_line(expected.about())],
        ["injury_type", "injury_type_label", "count"],
        ["assault", "Assault", "30"],
        ["stab", "Stabbing", "[c]"],
        ["gunshot", "Gunshot", "[c]"],
        ["glassing", "Glassing", "0"],
        ["other", "Other violence-related injury", "0"],
    ]
    assert lines[0][0].startswith(
        'SafeStats: las-violence-dispatches version 1; query {"dataset":"las-violence-'
        'dispatches","group_by":["injury_type"]}; disclosure control: '
    )
    downloaded = event("query.downloaded")
    assert downloaded.actor_id == analyst.pk and downloaded.target_id == LAS_ID
    assert downloaded.payload["sha256"] == hashlib.sha256(data).hexdigest()
    assert downloaded.payload["rows"] == 5 and downloaded.payload["format"] == "csv"
    assert downloaded.payload["version"] == 1 and downloaded.payload["bytes"] == len(data)
    assert downloaded.payload["query"] == {"dataset": LAS_ID, "group_by": ["injury_type"]}
    assert client.head(f"/query/{LAS_ID}/download.csv?run=1").status_code == 405


def test_an_xlsx_download_has_about_and_data_sheets(loaded: Path, client: Client) -> None:
    response = client.get(f"/query/{LAS_ID}/download.xlsx?run=1&group_by=injury_type")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    assert book.sheetnames == ["About", "Data"]
    about = [row for row in book["About"].iter_rows(values_only=True)]
    assert (
        about[1][1]
        == f"London Ambulance Service dispatches to violence-related injuries ({LAS_ID})"
    )
    data = [row for row in book["Data"].iter_rows(values_only=True)]
    assert data[0] == ("injury_type", "injury_type_label", "count")
    assert data[2] == ("stab", "Stabbing", "[c]")
    assert (
        event("query.downloaded").payload["sha256"] == hashlib.sha256(response.content).hexdigest()
    )


def test_json_and_geojson_downloads(loaded: Path, client: Client) -> None:
    by_borough = "?run=1&group_by=borough_code"
    json_file = client.get(f"/query/{LAS_ID}/download.json{by_borough}")
    assert json_file.status_code == 200 and json_file.json()["about"]["version"] == 1
    geojson = client.get(f"/query/{LAS_ID}/download.geojson{by_borough}")
    assert geojson.status_code == 200
    features = {f["properties"]["code"]: f for f in geojson.json()["features"]}
    assert len(features) == 33 and features["E09000033"]["properties"]["shown"] == "40"
    no_areas = client.get(f"/query/{LAS_ID}/download.geojson?run=1&group_by=injury_type")
    assert no_areas.status_code == 400
    assert "GeoJSON is for results grouped by borough, ward or LSOA." in text(no_areas)
    assert client.get(f"/query/{LAS_ID}/download.exe?run=1").status_code == 404


def test_results_by_area_have_a_map_or_say_why_not(loaded: Path, client: Client) -> None:
    response = client.get(f"/query/{LAS_ID}?run=1&group_by=borough_code&time_unit=month")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<svg class="safestats-map"' in html
    assert html.count('class="safestats-map__area ') == 33
    assert "<title>Westminster (E09000033): 40</title>" in html
    assert 'id="map-legend"' in html
    assert 'id="chart-data"' in html  # a line over the months as well
    assert f"/query/{LAS_ID}/download.geojson?" in html
    Borough.objects.update(boundary=None)
    absent = client.get(f"/query/{LAS_ID}?run=1&group_by=borough_code")
    assert "The map cannot be drawn. Boundaries for borough areas are not loaded" in text(absent)
    assert "download.geojson" not in absent.content.decode()


def test_a_weekday_by_hour_heatmap(loaded: Path, client: Client) -> None:
    response = client.get(f"/query/{LAS_ID}?run=1&time_unit=weekday_hour")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Heatmap: Records by day of the week and hour of the day" in text(response)
    assert '"kind": "heatmap"' in html
    assert (
        '<th scope="col" class="govuk-table__header govuk-table__header--numeric">Monday</th>'
        in html
    )


def test_htmx_gets_the_results_alone_or_the_whole_page_with_problems(
    loaded: Path, client: Client
) -> None:
    partial = client.get(BY_INJURY, headers={"HX-Request": "true"})
    assert partial.status_code == 200
    html = partial.content.decode()
    assert html.lstrip().startswith('<div id="results"') and "<html" not in html
    assert "Assault" in html
    problems = client.get(f"/query/{LAS_ID}?run=1&group_by=sex", headers={"HX-Request": "true"})
    assert problems["HX-Retarget"] == "#main-content"
    assert "<html" in problems.content.decode()


def test_records_are_extracted_only_where_the_agreement_grants_them(
    loaded: Path, client: Client
) -> None:
    refused = client.get(f"/query/{LAS_ID}/extract.csv?run=1")
    assert refused.status_code == 403
    assert (
        "allows only aggregate results from las-violence-dispatches, not individual records"
        in text(refused)
    )
    assert not AuditEvent.objects.filter(event="query.extracted").exists()

    page = client.get("/query/police-uk-street?run=1&group_by=crime_type").content.decode()
    assert 'id="extracts"' in page
    response = client.get(
        "/query/police-uk-street/extract.csv?run=1&date_from=2024-02&date_to=2024-02"
    )
    assert response.status_code == 200
    assert re.fullmatch(
        r'attachment; filename="police-uk-street-v1-records-\d{8}-\d{4}\.csv"',
        response["Content-Disposition"],
    )
    assert isinstance(response, FileResponse)
    data = b"".join(response.streaming_content)
    lines = list(csv.reader(io.StringIO(data.decode("utf-8").removeprefix("\ufeff"))))
    assert lines[0][0].startswith("SafeStats: police-uk-street version 1; query ")
    assert len(lines) == 2 + 9
    extracted = event("query.extracted")
    assert extracted.payload["sha256"] == hashlib.sha256(data).hexdigest()
    assert extracted.payload["rows"] == 9
    assert list((loaded / "tmp").glob("extract-*")) == []  # the scratch file is gone


def _save(client: Client, name: str, sharing: str, version: str = "newest") -> str:
    url = f"/query/{LAS_ID}/save?run=1&group_by=injury_type"
    page = client.get(url)
    assert page.status_code == 200
    response = client.post(
        url,
        {
            "csrfmiddlewaretoken": csrf_from(page.content.decode()),
            "name": name,
            "sharing": sharing,
            "version_choice": version,
        },
    )
    assert response.status_code == 302, text(response)
    return str(response["Location"])


def test_saved_queries_are_private_shared_or_hidden_and_run_as_the_viewer(
    loaded: Path, client: Client, camden: Any, analyst: Any
) -> None:
    empty = client.post(
        f"/query/{LAS_ID}/save?run=1&group_by=injury_type",
        {"name": "", "sharing": "private", "version_choice": "newest"},
    )
    assert "Enter a name for the query" in text(empty)
    private = _save(client, "Injuries", "private")
    shared = _save(client, "Injuries, pinned", "organisation", "pinned")
    kept = SavedQuery.objects.get(name="Injuries, pinned")
    assert kept.shared and kept.pinned and kept.spec["version"] == 1
    assert kept.spec["group_by"] == ["injury_type"] and kept.owner == analyst
    assert SavedQuery.objects.get(name="Injuries").spec == {
        "dataset": LAS_ID,
        "group_by": ["injury_type"],
    }
    assert event("query.saved").payload["name"] == "Injuries, pinned"

    opened = client.get(private)
    assert opened.status_code == 200
    assert "Injuries" in text(opened) and "Stabbing" in text(opened)
    assert 'href="/query/saved/' in opened.content.decode() and "Delete this saved query" in text(
        opened
    )

    colleague = signed_in(make_member(camden, "col@camden.gov.uk"))
    assert colleague.get(private).status_code == 404
    seen = colleague.get(shared)
    assert seen.status_code == 200 and "Delete this saved query" not in text(seen)
    assert event("query.run").actor_label == "col@camden.gov.uk"  # run as the viewer
    listing = text(colleague.get("/query/saved"))
    assert "Injuries, pinned" in listing and "Injuries Lon" not in listing

    hackney = make_organisation("Hackney CSP", "hackney.gov.uk")
    make_agreement(hackney, (LAS_ID, "aggregate", "borough", ()), reference="DSA-H")
    outsider = signed_in(make_member(hackney, "hal@hackney.gov.uk"))
    assert outsider.get(shared).status_code == 404
    assert outsider.get(private).status_code == 404
    assert "Injuries" not in text(outsider.get("/query/saved"))

    delete = shared + "/delete"
    assert colleague.post(delete).status_code == 404
    assert client.get(delete).status_code == 200
    assert client.post(delete).status_code == 302
    assert not SavedQuery.objects.filter(pk=kept.pk).exists()
    assert event("query.saved_deleted").payload["name"] == "Injuries, pinned"


def test_jigsaw_alerts_are_for_platform_administrators(
    loaded: Path, client: Client, analyst: Any
) -> None:
    alert = JigsawAlert.objects.create(
        user=analyst,
        organisation_name="Camden Community Safety Partnership",
        datasets=[LAS_ID, "police-uk-street"],
        areas=["E01004737"],
    )
    assert client.get("/platform/jigsaw-alerts").status_code == 403
    assert client.post(f"/platform/jigsaw-alerts/{alert.pk}", {"note": "x"}).status_code == 403
    admin, _ = signed_in_admin()
    page = admin.get("/platform/jigsaw-alerts")
    assert page.status_code == 200
    words = text(page)
    assert "1 alert to review." in words and "ana@camden.gov.uk" in words and "E01004737" in words
    empty = admin.post(f"/platform/jigsaw-alerts/{alert.pk}", {"note": ""})
    assert "Enter a note saying what you found" in text(empty)
    done = admin.post(f"/platform/jigsaw-alerts/{alert.pk}", {"note": "Agreed purpose."})
    assert done.status_code == 302
    alert.refresh_from_db()
    assert alert.reviewed_at is not None and alert.reviewed_by == "gla.admin@london.gov.uk"
    reviewed = event("query.jigsaw_alert_reviewed")
    assert reviewed.payload["note"] == "Agreed purpose." and reviewed.payload["alert"] == alert.pk
    assert "No alert is waiting for review." in text(admin.get("/platform/jigsaw-alerts"))
    again = admin.post(f"/platform/jigsaw-alerts/{alert.pk}", {"note": "Again."})
    assert again.status_code == 409


def test_filters_areas_and_times_from_the_form_become_the_query(
    loaded: Path, client: Client
) -> None:
    response = client.get(
        f"/query/{LAS_ID}?run=1&f_injury_type=stab&f_injury_type=gunshot&boroughs=E09000033"
        "&weekdays=1&weekdays=7&hours=21&date_from=2024-01&date_to=2024-01&group_by=borough_code"
    )
    assert response.status_code == 200, text(response)
    asked = event("query.run").payload["query"]
    assert asked == {
        "dataset": LAS_ID,
        "date_from": "2024-01",
        "date_to": "2024-01",
        "filters": [{"field": "injury_type", "values": ["stab", "gunshot"]}],
        "area_level": "borough",
        "areas": ["E09000033"],
        "weekdays": [1, 7],
        "hours": [21],
        "group_by": ["borough_code"],
    }
    html = response.content.decode()
    assert html.count('class="safestats-map__area ') == 1  # only the chosen borough is drawn
    assert 'value="stab" checked' in html and 'value="E09000033" checked' in html
    problems = client.get(f"/query/{LAS_ID}?run=1&areas=E05013806&area_level=&hours=25")
    words = text(problems)
    assert "Choose the level of the area codes you gave" in words
    assert "Choose only hours from the list" in words
    assert "Choose at least one field to group by, or a unit of time" in words
    by = "&group_by=injury_type"
    wrong = client.get(f"/query/{LAS_ID}?run=1&areas=nonsense&area_level=ward{by}")
    assert "NONSENSE is not an area code: give ONS codes like E05013806" in text(wrong)
    lsoa = client.get(f"/query/{LAS_ID}?run=1&areas=E01004736&area_level=lsoa{by}")
    assert "Select a valid choice" in text(lsoa)  # finer than the agreement: not offered
    ward = client.get(f"/query/{LAS_ID}?run=1&areas=E05013806&area_level=ward{by}")
    assert ward.status_code == 200 and 'id="result-table"' in ward.content.decode()


def test_the_live_count_is_an_audited_disclosure_controlled_query_of_one_cell(
    loaded: Path, client: Client
) -> None:
    builder = client.get(f"/query/{LAS_ID}").content.decode()
    live = builder.split('id="live-count"')[1].split(">")[0]
    assert f'hx-get="/query/{LAS_ID}/count"' in live and 'hx-include="#query-form"' in live
    assert 'hx-target="this"' in live  # not the results the form itself replaces
    assert '<div class="govuk-inset-text safestats-live-count" id="live-count"' in builder
    htmx = {"HX-Request": "true"}

    every = client.get(f"/query/{LAS_ID}/count?run=1", headers=htmx)
    assert every.status_code == 200 and every["Cache-Control"] == "no-store"
    html = every.content.decode()
    assert "<html" not in html
    assert '<strong class="govuk-!-font-size-24" id="live-count-figure">40</strong>' in html
    assert "records match" in text(every)
    assert "Disclosure control: " in text(every)
    ran = event("query.run")
    assert ran.actor_label == "ana@camden.gov.uk"
    assert ran.payload["purpose"] == "count" and ran.payload["cells"] == 1
    assert ran.payload["query"] == {"dataset": LAS_ID}

    # A grouping on the form does not change the count (it counts before grouping).
    grouped = client.get(f"/query/{LAS_ID}/count?run=1&group_by=injury_type", headers=htmx)
    assert 'id="live-count-figure">40<' in grouped.content.decode()

    # Seven stabbings are fewer than the dataset's threshold of 8: suppressed, as in a table.
    stabs = client.get(f"/query/{LAS_ID}/count?run=1&f_injury_type=stab", headers=htmx)
    assert 'id="live-count-figure">[c]<' in stabs.content.decode()
    assert "too few to show, to protect confidentiality" in text(stabs)
    counted = event("query.run")
    assert counted.payload["suppressed"] == 1
    assert counted.payload["query"]["filters"] == [{"field": "injury_type", "values": ["stab"]}]
    both = client.get(
        f"/query/{LAS_ID}/count?run=1&f_injury_type=stab&f_injury_type=gunshot", headers=htmx
    )
    assert 'id="live-count-figure">10<' in both.content.decode()

    # Problems with the form, or with the agreement, come back in words, not as a count.
    finer = "areas=E01004736&area_level=lsoa"  # LSOAs: finer than the agreement's wards
    lsoa = client.get(f"/query/{LAS_ID}/count?run=1&{finer}", headers=htmx)
    assert "live-count-figure" not in lsoa.content.decode()
    assert "No count yet: Select a valid choice." in text(lsoa)
    bad = client.get(f"/query/{LAS_ID}/count?run=1&date_from=January", headers=htmx)
    assert "No count yet: Enter the first month as a year and month, like 2024-01" in text(bad)
    assert AuditEvent.objects.filter(event="query.run").count() == 4

    # Without htmx it is the builder, with the same choices.
    plain = client.get(f"/query/{LAS_ID}/count?run=1&f_injury_type=stab")
    assert plain.status_code == 302
    assert plain["Location"] == f"/query/{LAS_ID}?run=1&f_injury_type=stab"
    assert client.head(f"/query/{LAS_ID}/count?run=1", headers=htmx).status_code == 405


def test_the_live_count_refuses_in_the_policys_words(loaded: Path) -> None:
    hackney = make_organisation("Hackney CSP", "hackney.gov.uk")
    client = signed_in(make_member(hackney, "hal@hackney.gov.uk"))
    response = client.get(f"/query/{LAS_ID}/count?run=1", headers={"HX-Request": "true"})
    assert "live-count-figure" not in response.content.decode()
    assert (
        "No count yet: Hackney CSP has no data sharing agreement in force that covers the "
        "las-violence-dispatches dataset." in text(response)
    )
    plain = client.get(f"/query/{LAS_ID}/count?run=1")
    assert plain.status_code == 403
    assert not AuditEvent.objects.filter(event="query.run").exists()
