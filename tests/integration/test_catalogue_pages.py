"""The catalogue pages as each kind of user sees them, signed in through the real pages:
the list with each user's access, a dataset's data dictionary with withheld fields
marked, and a platform administrator adding a dataset (every problem listed, everything
they type escaped)."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.test import Client

from safestats.accounts.models import Role
from safestats.audit.models import AuditEvent
from safestats.audit.services import Actor
from safestats.catalogue.models import Dataset
from safestats.catalogue.services import (
    add_draft_version,
    publish_version,
    sync_specs,
)
from tests.catalogue_specs import as_yaml, minimal_spec
from tests.signin import csrf_from, enrol, make_agreement, make_member, make_organisation, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def camden() -> object:
    organisation = make_organisation()
    make_agreement(
        organisation,
        ("las-violence-dispatches", "record", "lsoa", ("age_band", "sex")),
        ("mps-recorded-crime", "aggregate", "ward", ()),
    )
    sync_specs(by=Actor.system())
    return organisation


def signed_in(organisation: object, email: str, role: str = Role.ANALYST) -> Client:
    user = make_member(organisation, email, role=role)  # type: ignore[arg-type]
    client = Client()
    sign_in(client, user, enrol(user))
    return client


def row_for(html: str, title: str) -> str:
    match = re.search(
        rf"<tr class=\"govuk-table__row\">\s*<th[^>]*><a[^>]*>{re.escape(title)}</a>.*?</tr>",
        html,
        re.S,
    )
    assert match, f"no row for {title}"
    return match.group(0)


def test_the_catalogue_lists_datasets_with_the_users_access(camden: object) -> None:
    html = signed_in(camden, "ana@camden.gov.uk").get("/catalogue").content.decode()
    assert "13 datasets" in html
    las = row_for(html, "London Ambulance Service dispatches to violence-related injuries")
    assert "London Ambulance Service" in las and "Monthly" in las and "Individual records" in las
    assert "Records and totals" in las
    assert "Totals only" in row_for(html, "MPS recorded crime (record level)")
    counts = row_for(html, "MPS recorded crime by ward, monthly counts (London Datastore)")
    assert "Counts" in counts and "No access" in counts
    assert "Add a dataset" not in html
    assert 'href="/catalogue"' in html  # the service navigation


def test_a_dataset_page_shows_its_dictionary_and_what_the_user_may_see(camden: object) -> None:
    client = signed_in(camden, "ana@camden.gov.uk")
    html = client.get("/catalogue/las-violence-dispatches").content.decode()
    assert "Allowed under Camden Community Safety Partnership&#x27;s agreement DSA-TEST-001" in html
    assert "Fields withheld from you: age_band, sex." in html
    age = re.search(r'<tr class="govuk-table__row" id="field-age_band">.*?</tr>', html, re.S)
    assert age and "Withheld from you" in age.group(0)
    assert "Kept only as a band: 0-10, 11-17, 18-24, 25-34, 35-44, 45-54, 55-64, 65+." in age.group(
        0
    )
    injury = re.search(r'id="field-injury_type">.*?</tr>', html, re.S)
    assert injury and "Withheld" not in injury.group(0)
    assert '<span class="govuk-details__summary-text">Codes (5)</span>' in injury.group(0)
    assert "Counts from 1 to 7 are suppressed and shown as [c]" in html
    assert "Replaced by the centre of their LSOA when loaded" in html
    assert "No data yet" in html and "No data has been loaded yet." in html
    assert (
        "Version 1" in html and "spec file in the repository (las-violence-dispatches.yaml)" in html
    )

    refused = client.get("/catalogue/police-uk-street").content.decode()
    assert "No access" in refused
    assert (
        "has no data sharing agreement in force that covers the police-uk-street dataset" in refused
    )
    assert "No disclosure control: this data is already published openly" in refused
    assert client.get("/catalogue/no-such-dataset").status_code == 404


def test_the_dataset_page_shows_coverage_and_versions(camden: object) -> None:
    dataset = Dataset.objects.get(pk="mps-recorded-crime")
    version = add_draft_version(
        dataset=dataset,
        row_count=4321,
        coverage_from=date(2024, 4, 1),
        coverage_to=date(2025, 3, 1),
        parquet_path="mps-recorded-crime/v1",
        manifest_sha256="c" * 64,
        by=Actor.system(),
    )
    publish_version(dataset=dataset, version=version, by=Actor.system())
    html = (
        signed_in(camden, "ana@camden.gov.uk").get("/catalogue/mps-recorded-crime").content.decode()
    )
    assert "April 2024 to March 2025 (4321 rows, version 1)" in html
    assert '<strong class="govuk-tag govuk-tag--green">Current</strong>' in html
    assert "Totals only" in html


@pytest.fixture
def admin(camden: object) -> Client:
    return signed_in(camden, "platform@camden.gov.uk", Role.PLATFORM_ADMIN)


def test_a_platform_administrator_adds_a_dataset(admin: Client) -> None:
    page = admin.get("/catalogue/new").content.decode()
    response = admin.post(
        "/catalogue/new",
        {"csrfmiddlewaretoken": csrf_from(page), "spec": as_yaml(minimal_spec("test-crime"))},
    )
    assert response.status_code == 302 and response["Location"] == "/catalogue/test-crime"
    dataset = Dataset.objects.get(pk="test-crime")
    assert dataset.spec_source == "ui"
    event = AuditEvent.objects.filter(event="dataset.created", target_id="test-crime").get()
    assert event.actor_label == "platform@camden.gov.uk" and event.request_id
    assert "Test crime" in admin.get("/catalogue").content.decode()


def test_every_problem_is_listed_in_the_error_summary(admin: Client) -> None:
    spec = minimal_spec()
    spec["kind"] = "aggregated"
    spec["layouts"][0]["columns"]["crime_typo"] = "Typo"
    text = as_yaml(spec)
    line = [row.strip() for row in text.splitlines()].index("crime_typo: Typo") + 1
    response = admin.post("/catalogue/new", {"spec": text})
    html = response.content.decode()
    assert response.status_code == 200
    summary = re.search(r'<div class="govuk-error-summary".*?</ul>', html, re.S)
    assert summary
    items = re.findall(r'<li><a href="#id_spec">(.*?)</a></li>', summary.group(0))
    assert items == [
        "measure: an aggregated dataset must name its measure column (measure:)",
        f"Line {line}: layouts[0].columns.crime_typo: layout extract reads a column into "
        "crime_typo, which is not one of the fields",
    ]
    assert "<title>Error: Add a dataset" in html
    assert not Dataset.objects.filter(pk="test-crime").exists()
    assert not AuditEvent.objects.filter(event="dataset.created", target_id="test-crime").exists()


def test_an_existing_id_and_an_empty_form_are_refused(admin: Client) -> None:
    taken = as_yaml(minimal_spec("police-uk-street"))
    html = admin.post("/catalogue/new", {"spec": taken}).content.decode()
    assert "There is already a dataset with the id police-uk-street: choose another id." in html
    html = admin.post("/catalogue/new", {"spec": ""}).content.decode()
    assert "Enter the dataset&#x27;s specification" in html


def test_html_and_script_in_a_spec_are_shown_as_text(admin: Client) -> None:
    spec = minimal_spec("xss-test")
    script = "<script>alert('x')</script>"
    spec["title"] = f"Crime {script}"
    spec["description"] = f'<img src=x onerror="alert(1)"> {script}'
    spec["fields"][2]["description"] = script
    spec["code_lists"]["crime_type"]["values"][0]["label"] = script
    assert admin.post("/catalogue/new", {"spec": as_yaml(spec)}).status_code == 302
    for path in ("/catalogue", "/catalogue/xss-test"):
        html = admin.get(path).content.decode()
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html

    bad = as_yaml(spec).replace("kind: record", "kind: <script>alert(2)</script>")
    html = admin.post("/catalogue/new", {"spec": bad}).content.decode()
    assert "<script>alert(2)" not in html
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html  # in the textarea, as typed


@pytest.mark.parametrize("role", [Role.ANALYST, Role.ORGANISATION_ADMIN, Role.DATA_PROVIDER])
def test_only_platform_administrators_may_add_datasets(camden: object, role: str) -> None:
    client = signed_in(camden, f"{role}@camden.gov.uk", role)
    assert client.post("/catalogue/new", {"spec": as_yaml(minimal_spec())}).status_code == 403
    assert not Dataset.objects.filter(pk="test-crime").exists()
