"""The ingestion pages, signed in through the real pages: a data provider sends a file and
follows its load to the report of its problems; who may reach which page and job; every
bad input refused on the form with nothing stored; the problems and quarantined rows as
audited CSV downloads; rolling a dataset back; choosing a dataset's providers.

Loads run at once inside the upload request (tests/settings.py uses django-tasks'
immediate backend)."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings

from safestats.accounts.models import Role, User
from safestats.audit.models import AuditEvent
from safestats.audit.services import Actor
from safestats.catalogue.models import Dataset, VersionStatus
from safestats.geography.services import load_folder
from safestats.ingest.models import IngestJob, JobStatus, RawFile
from safestats.organisations.models import Organisation
from tests.ingest_helpers import (
    STREET_HEADERS,
    catalogue,
    load,
    stores,  # noqa: F401 - fixture
    street_csv,
    street_row,
    write_rows,
)
from tests.integration.geography_files import write_folder
from tests.platform import event, signed_in, signed_in_admin, text
from tests.signin import csrf_from, make_member, make_organisation

pytestmark = pytest.mark.django_db

STREET = "police-uk-street"


@pytest.fixture
def ready(stores: Path, tmp_path: Path) -> Path:  # noqa: F811
    """Stores, the catalogue and a small geography; Camden provides the street dataset."""
    load_folder(write_folder(tmp_path / "geo"), by=Actor.system("test"))
    catalogue()
    return stores


@pytest.fixture
def camden(ready: Path) -> Organisation:
    organisation = make_organisation()
    Dataset.objects.get(pk=STREET).provider_organisations.add(organisation)
    return organisation


@pytest.fixture
def provider(camden: Organisation) -> User:
    return make_member(camden, "pat.provider@camden.gov.uk", role=Role.DATA_PROVIDER)


def upload(client: Client, content: bytes, *, name: str = "street.csv", **fields: Any) -> Any:
    data = {"dataset": STREET, "data_files": [SimpleUploadedFile(name, content)]}
    data |= {"tolerance": ""} | fields
    return client.post("/ingest/upload", data)


def raw_files(home: Path) -> list[Path]:
    return [path for path in (home / "raw").rglob("*") if path.is_file()]


def test_a_provider_loads_a_file_and_sees_its_report(ready: Path, provider: User) -> None:
    client = signed_in(provider)
    assert 'href="/ingest"' in client.get("/").content.decode()  # "Load data" in the menu
    form = client.get("/ingest/upload").content.decode()
    assert '<option value="police-uk-street">' in form
    assert 'type="file" multiple' in form and 'enctype="multipart/form-data"' in form
    assert 'value="5"' in form  # the instance's default tolerance, shown

    response = upload(client, street_csv(20))  # 1 bad row in 21: under the 5% tolerance

    job = IngestJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/ingest/jobs/{job.pk}"
    assert job.user == provider and job.organisation == provider.organisation
    assert job.created_by == provider.email
    assert job.tolerance_percent == Decimal("5.00")
    assert job.status == JobStatus.PUBLISHED, job.message
    assert (job.rows_total, job.rows_published, job.rows_quarantined) == (21, 20, 1)
    received = event("ingest.file_received")
    assert received.actor_id == provider.pk and received.payload["job"] == job.pk
    assert received.payload["file"] == "street.csv"

    page = client.get(response["Location"])
    html = page.content.decode()
    assert 'http-equiv="refresh"' not in html  # finished: no more refreshing
    assert "Published" in html and job.message in text(page)
    assert job.version is not None
    assert f'href="/catalogue/{STREET}"' in html and f"Version {job.version.number}" in html
    problems = re.search(r'<table class="govuk-table" id="problems">.*?</table>', html, re.S)
    assert problems and "2024-02-31" in problems.group(0) and ">22<" in problems.group(0)
    assert f'href="/ingest/jobs/{job.pk}/problems.csv"' in html
    assert f'href="/ingest/jobs/{job.pk}/quarantine.csv"' in html
    assert 'id="problem-counts"' in html

    listing = client.get("/ingest").content.decode()
    assert f'href="/ingest/jobs/{job.pk}"' in listing and "street.csv" in listing
    assert provider.email in listing


@pytest.mark.parametrize("role", [Role.ANALYST, Role.ORGANISATION_ADMIN])
def test_other_roles_cannot_load_data(camden: Organisation, ready: Path, role: str) -> None:
    client = signed_in(make_member(camden, "someone@camden.gov.uk", role=role))
    assert client.get("/ingest").status_code == 403
    assert client.get("/ingest/upload").status_code == 403
    assert upload(client, street_csv(3)).status_code == 403
    assert 'href="/ingest"' not in client.get("/").content.decode()
    assert not IngestJob.objects.exists() and raw_files(ready) == []


def test_a_provider_cannot_load_a_dataset_their_organisation_does_not_provide(
    ready: Path, provider: User
) -> None:
    client = signed_in(provider)
    assert '<option value="mps-victims">' not in client.get("/ingest/upload").content.decode()
    response = upload(client, street_csv(3), dataset="mps-victims")
    assert response.status_code == 200
    assert "You cannot load data into that dataset" in text(response)
    assert 'class="govuk-error-summary"' in response.content.decode()
    assert not IngestJob.objects.exists() and not RawFile.objects.exists()
    assert raw_files(ready) == []


def test_a_provider_whose_organisation_provides_nothing_is_told_who_to_ask(ready: Path) -> None:
    hackney = make_organisation("Hackney CSP", "hackney.gov.uk")
    client = signed_in(make_member(hackney, "pat@hackney.gov.uk", role=Role.DATA_PROVIDER))
    page = text(client.get("/ingest/upload"))
    assert "Your organisation does not provide any dataset yet" in page
    assert "Ask a platform administrator" in page
    assert "Load a file" not in text(client.get("/ingest")).replace("Load a file –", "")


def test_every_bad_input_is_listed_and_nothing_is_stored(ready: Path, provider: User) -> None:
    client = signed_in(provider)
    nothing = client.post("/ingest/upload", {"dataset": "", "tolerance": "lots"})
    page = text(nothing)
    assert "There is a problem" in page
    assert "Choose the dataset the file is for" in page
    assert "Choose at least one file to load" in page
    assert "Enter the error tolerance as a number from 0 to 100, like 2.5" in page
    assert 'href="#id_data_files"' in nothing.content.decode()

    empty = text(upload(client, b"", name="empty.csv"))
    assert "empty.csv is empty: choose a file with data" in empty
    for tolerance in ("101", "-1", "NaN", "1e3"):
        refused = text(upload(client, street_csv(3), tolerance=tolerance))
        assert "Enter the error tolerance as a number from 0 to 100" in refused, tolerance
    assert not IngestJob.objects.exists() and raw_files(ready) == []

    upload(client, street_csv(3), tolerance="50%")
    assert IngestJob.objects.get().tolerance_percent == Decimal("50.00")


@override_settings(SAFESTATS_MAX_UPLOAD_MB=1)
def test_a_file_over_the_size_limit_is_refused_while_it_streams(
    ready: Path, provider: User
) -> None:
    client = signed_in(provider)
    big = b"x" * (1024 * 1024 + 512 * 1024)  # 1.5 MB
    response = upload(client, big, name="huge.csv")
    assert response.status_code == 200
    page = text(response)
    assert "huge.csv is larger than the 1 MB this service accepts: split it into smaller files" in (
        page
    )
    assert 'href="#id_data_files"' in response.content.decode()
    assert not IngestJob.objects.exists() and not RawFile.objects.exists()
    assert raw_files(ready) == []


def test_the_upload_checks_the_csrf_token_after_taking_over_the_upload(
    ready: Path, provider: User
) -> None:
    # The upload page is exempt from the CSRF middleware (its upload handler must be in
    # place before the body is read) and checks the token itself.
    client = signed_in(provider)
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = client.cookies
    token = csrf_from(strict.get("/ingest/upload").content.decode())
    refused = upload(strict, street_csv(3))
    assert refused.status_code == 403
    assert not IngestJob.objects.exists() and raw_files(ready) == []
    with override_settings(SAFESTATS_MAX_UPLOAD_MB=1):
        big: dict[str, Any] = {"csrfmiddlewaretoken": token, "dataset": STREET}
        big["data_files"] = [SimpleUploadedFile("huge.csv", b"x" * (1536 * 1024))]
        too_large = strict.post("/ingest/upload", big)
        assert too_large.status_code == 200 and "huge.csv is larger than" in text(too_large)
    accepted = strict.post(
        "/ingest/upload",
        {
            "csrfmiddlewaretoken": token,
            "dataset": STREET,
            "data_files": [SimpleUploadedFile("street.csv", street_csv(3))],
            "tolerance": "50",
        },
    )
    assert accepted.status_code == 302
    assert IngestJob.objects.get().status == JobStatus.PUBLISHED


def test_a_provider_cannot_see_another_organisations_job(ready: Path, provider: User) -> None:
    hackney = make_organisation("Hackney CSP", "hackney.gov.uk")
    theirs = IngestJob.objects.create(
        dataset_id=STREET,
        organisation=hackney,
        tolerance_percent=Decimal(5),
        created_by="someone@hackney.gov.uk",
        status=JobStatus.PUBLISHED,
    )
    client = signed_in(provider)
    for path in ("", "/problems.csv", "/quarantine.csv"):
        assert client.get(f"/ingest/jobs/{theirs.pk}{path}").status_code == 404
    assert client.get(f"/ingest/jobs/{theirs.pk + 1000}").status_code == 404
    assert f"/ingest/jobs/{theirs.pk}" not in client.get("/ingest").content.decode()
    assert not AuditEvent.objects.filter(event="ingest.report_downloaded").exists()
    admin, _ = signed_in_admin()
    assert admin.get(f"/ingest/jobs/{theirs.pk}").status_code == 200
    assert f"/ingest/jobs/{theirs.pk}" in admin.get("/ingest").content.decode()


def test_the_job_page_refreshes_itself_while_the_load_runs(ready: Path, provider: User) -> None:
    running = IngestJob.objects.create(
        dataset_id=STREET,
        organisation=provider.organisation,
        user=provider,
        tolerance_percent=Decimal(5),
        created_by=provider.email,
        status=JobStatus.RUNNING,
        stage="Checking file.csv",
        percent=45,
        rows_done=120_000,
        rows_total=260_000,
    )
    client = signed_in(provider)
    page = client.get(f"/ingest/jobs/{running.pk}")
    html = page.content.decode()
    head = html.split("</head>")[0]
    assert '<meta http-equiv="refresh" content="2">' in head
    assert "45% — Checking file.csv — 120,000 of 260,000 rows" in html
    assert '<progress class="safestats-progress" id="job-progress" max="100" value="45">' in html
    assert "This page refreshes every 2 seconds" in text(page)
    assert 'id="problems"' not in html
    # Running jobs have no report to download yet.
    assert client.get(f"/ingest/jobs/{running.pk}/problems.csv").status_code == 404
    still = client.get(f"/ingest/jobs/{running.pk}?refresh=off").content.decode()
    assert 'http-equiv="refresh"' not in still and "45%" in still


def test_problems_and_quarantined_rows_download_as_audited_csv(ready: Path, provider: User) -> None:
    client = signed_in(provider)
    upload(client, street_csv(20))
    job = IngestJob.objects.get()

    response = client.get(f"/ingest/jobs/{job.pk}/problems.csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="job-{job.pk}-problems.csv"'
    body = response.getvalue().decode("utf-8")
    assert body == (
        "\ufeffrow,field,column,value,rule,severity,message\r\n"
        "22,month,Month,2024-02-31,invalid_month,error,"
        "month is not a valid month in the form %Y-%m\r\n"
        "22,crime_type,Crime type,Rustling,unknown_code,error,"
        '"crime_type is not one of its codes (Anti-social behaviour, Bicycle theft, '
        "Burglary, Criminal damage and arson, Drugs, Other theft, Possession of weapons, "
        'Public order, Robbery, Shoplifting, Theft from the person, Vehicle crime\u2026)"\r\n'
    )
    downloaded = event("ingest.report_downloaded")
    assert downloaded.actor_id == provider.pk
    assert downloaded.payload == {"job": job.pk, "what": "problems"}

    quarantined = client.get(f"/ingest/jobs/{job.pk}/quarantine.csv")
    assert quarantined["Content-Disposition"] == (
        f'attachment; filename="job-{job.pk}-quarantine.csv"'
    )
    rows = quarantined.getvalue().decode("utf-8").splitlines()
    assert len(rows) == 2 and "Rustling" in rows[1] and "2024-02-31" in rows[1]
    assert event("ingest.report_downloaded").payload == {"job": job.pk, "what": "quarantine"}
    assert client.head(f"/ingest/jobs/{job.pk}/problems.csv").status_code == 405


def current_number() -> int:
    version = Dataset.objects.select_related("current_version").get(pk=STREET).current_version
    assert version is not None
    return version.number


def two_versions(tmp_path: Path) -> Dataset:
    load(STREET, write_rows(tmp_path / "jan.csv", STREET_HEADERS, [street_row(1, "2024-01")]))
    load(STREET, write_rows(tmp_path / "feb.csv", STREET_HEADERS, [street_row(2, "2024-02")]))
    dataset = Dataset.objects.select_related("current_version").get(pk=STREET)
    assert dataset.current_version is not None and dataset.current_version.number == 2
    return dataset


def test_a_platform_administrator_rolls_a_dataset_back(ready: Path, tmp_path: Path) -> None:
    two_versions(tmp_path)
    client, admin = signed_in_admin()
    page = client.get(f"/catalogue/{STREET}").content.decode()
    versions = re.search(r'<table class="govuk-table" id="versions">.*?</table>', page, re.S)
    assert versions is not None
    assert versions.group(0).count("Roll back to this version") == 1  # only version 1
    assert f'action="/catalogue/{STREET}/rollback/1"' in versions.group(0)
    assert "csrfmiddlewaretoken" in versions.group(0)

    confirm = client.post(f"/catalogue/{STREET}/rollback/1")  # the dataset page's button
    assert confirm.status_code == 200
    assert "Roll back to version 1?" in text(confirm)
    assert client.get(f"/catalogue/{STREET}/rollback/1").status_code == 200
    assert current_number() == 2  # nothing done yet

    done = client.post(
        f"/catalogue/{STREET}/rollback/1",
        {"confirm": "yes", "csrfmiddlewaretoken": csrf_from(confirm.content.decode())},
    )
    assert done.status_code == 302 and done["Location"] == f"/catalogue/{STREET}"
    dataset = Dataset.objects.select_related("current_version").get(pk=STREET)
    assert current_number() == 1
    assert dataset.versions.get(number=2).status == VersionStatus.ROLLED_BACK
    rolled = event("dataset.rolled_back")
    assert rolled.actor_id == admin.pk and rolled.payload["version"] == 1
    assert rolled.payload["rolled_back_version"] == 2
    banner = text(client.get(done["Location"]))
    assert "Success" in banner and "is back at version 1" in banner

    again = client.post(f"/catalogue/{STREET}/rollback/2", {"confirm": "yes"})
    assert again.status_code == 409
    assert client.get(f"/catalogue/{STREET}/rollback/9").status_code == 404


@pytest.mark.parametrize("role", [Role.ANALYST, Role.DATA_PROVIDER, Role.ORGANISATION_ADMIN])
def test_only_platform_administrators_roll_back(
    camden: Organisation, tmp_path: Path, role: str
) -> None:
    two_versions(tmp_path)
    client = signed_in(make_member(camden, "someone@camden.gov.uk", role=role))
    assert "Roll back" not in client.get(f"/catalogue/{STREET}").content.decode()
    assert client.get(f"/catalogue/{STREET}/rollback/1").status_code == 403
    assert client.post(f"/catalogue/{STREET}/rollback/1", {"confirm": "yes"}).status_code == 403
    assert current_number() == 2
    assert not AuditEvent.objects.filter(event="dataset.rolled_back").exists()


def test_a_platform_administrator_chooses_who_provides_a_dataset(
    ready: Path, camden: Organisation
) -> None:
    hackney = make_organisation("Hackney CSP", "hackney.gov.uk")
    make_organisation("Applied Borough", "applied.gov.uk", status="applied")
    client, admin = signed_in_admin()
    dataset_page = client.get(f"/catalogue/{STREET}").content.decode()
    assert f'href="/platform/datasets/{STREET}/providers"' in dataset_page
    page = client.get(f"/platform/datasets/{STREET}/providers")
    html = page.content.decode()
    assert page.status_code == 200
    assert f'value="{camden.pk}" checked' in html and f'value="{hackney.pk}">' in html
    assert "Applied Borough" not in html  # not approved: cannot be chosen

    saved = client.post(
        f"/platform/datasets/{STREET}/providers",
        {"organisations": [hackney.pk], "csrfmiddlewaretoken": csrf_from(html)},
    )
    assert saved.status_code == 302 and saved["Location"] == f"/catalogue/{STREET}"
    dataset = Dataset.objects.get(pk=STREET)
    assert list(dataset.provider_organisations.all()) == [hackney]
    changed = event("dataset.providers_changed")
    assert changed.actor_id == admin.pk and changed.target_id == STREET
    assert changed.payload["before"] == [camden.pk] and changed.payload["after"] == [hackney.pk]
    assert "Data providers of Hackney CSP may load" in text(client.get(saved["Location"]))

    unknown = client.post(f"/platform/datasets/{STREET}/providers", {"organisations": ["99999"]})
    assert unknown.status_code == 200 and "Choose only organisations from the list" in text(unknown)
    assert client.get("/platform/datasets/no-such-dataset/providers").status_code == 404
