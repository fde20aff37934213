"""The journey of a data provider, in headless Chromium: they sign in, send a police.uk
street-level crime file with one bad row, follow it to its published report, see the row
that was set aside and download every problem as CSV. axe-core finds no WCAG 2.2 A or AA
failure on the upload page (empty, and with errors) or on the report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from safestats.accounts.models import Role
from safestats.audit.models import AuditEvent
from safestats.audit.services import Actor
from safestats.catalogue.models import Dataset
from safestats.geography.services import load_folder
from safestats.ingest.models import IngestJob, JobStatus
from tests.functional.test_service_pages_browser import axe_violations
from tests.ingest_helpers import catalogue, stores, street_csv  # noqa: F401 - fixture
from tests.integration.geography_files import write_folder
from tests.signin import PASSWORD, code_for, enrol, make_member, make_organisation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def ready(stores: Path, tmp_path: Path) -> Path:  # noqa: F811
    """Stores, the catalogue and a small geography."""
    load_folder(write_folder(tmp_path / "geo"), by=Actor.system("test"))
    catalogue()
    return stores


def test_a_provider_loads_a_street_file_and_downloads_its_problems(
    live_server: Any, browser: Any, ready: Path
) -> None:
    camden = make_organisation()
    Dataset.objects.get(pk="police-uk-street").provider_organisations.add(camden)
    provider = make_member(camden, "pat.provider@camden.gov.uk", role=Role.DATA_PROVIDER)
    device = enrol(provider)
    base = live_server.url
    # axe-core is injected as a script, which the CSP rightly forbids: bypass it for the
    # checker only (the CSP itself is checked by the service pages' journeys).
    context = browser.new_context(bypass_csp=True, accept_downloads=True)
    try:
        page = context.new_page()
        page.goto(f"{base}/sign-in")
        page.fill("#id_email", provider.email)
        page.fill("#id_password", PASSWORD)
        page.click("button:has-text('Continue')")
        page.fill("#id_code", code_for(device))
        page.click("button:has-text('Continue')")
        page.check("#id_accept")
        page.click("button:has-text('Accept and continue')")

        page.click("#navigation >> text=Load data")
        assert page.inner_text("h1") == "Load data"
        page.click("text=Load a file")
        assert page.inner_text("h1") == "Load a file"
        violations = axe_violations(page)
        page.click("button:has-text('Load')")  # nothing chosen: the error state
        assert "Choose at least one file to load" in page.inner_text(".govuk-error-summary")
        violations += axe_violations(page)

        page.select_option("#id_dataset", "police-uk-street")
        page.set_input_files(
            "#id_data_files",
            files=[{"name": "street.csv", "mimeType": "text/csv", "buffer": street_csv(20)}],
        )
        page.click("button:has-text('Load')")

        job = IngestJob.objects.get()
        assert page.url == f"{base}/ingest/jobs/{job.pk}"
        assert job.status == JobStatus.PUBLISHED, job.message
        assert page.inner_text("#status") == "Published"
        assert "20 new records" in page.inner_text("#message")
        assert page.inner_text("#rows-quarantined") == "1"
        bad_row = page.inner_text("#problems tbody tr:first-child")
        assert "22" in bad_row and "2024-02-31" in bad_row
        violations += axe_violations(page)

        with page.expect_download() as download:
            page.click("text=Download all problems (CSV)")
        assert download.value.suggested_filename == f"job-{job.pk}-problems.csv"
        problems = Path(download.value.path()).read_text(encoding="utf-8-sig").splitlines()
        assert problems[0] == "row,field,column,value,rule,severity,message"
        assert problems[1].startswith("22,month,Month,2024-02-31,invalid_month,error,")
        assert len(problems) == 3
        assert AuditEvent.objects.filter(
            event="ingest.report_downloaded", actor_id=provider.pk
        ).exists()
        assert violations == []
    finally:
        context.close()
