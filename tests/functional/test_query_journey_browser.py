"""An analyst's query journey, in headless Chromium under the real Content Security Policy:
they sign in, choose a dataset from Query, build a query while its live count follows the
form, see its table with suppressed cells, its chart and, grouped by borough, its map (from
the small synthetic geography);
they download the results as CSV and as Excel, and the audit log holds each download with
the SHA-256 of the very file they received. Nothing is blocked or fails in the browser,
and axe-core finds no WCAG 2.2 A or AA failure on the builder or on the results."""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from safestats.audit.models import AuditEvent
from tests.functional.test_service_pages_browser import AXE, collect_problems
from tests.ingest_helpers import stores  # noqa: F401 - fixture
from tests.integration.test_query_pages import loaded  # noqa: F401 - fixture
from tests.query_helpers import LAS_ID
from tests.signin import PASSWORD, code_for, enrol, make_agreement, make_member, make_organisation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def axe_violations(page: Any) -> list[str]:
    """axe-core is added to every page by the browser itself (an init script, which the
    Content Security Policy does not govern), so the policy stays in force for the page."""
    result = page.evaluate(
        """() => axe.run(document, {runOnly: {type: 'tag',
             values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})"""
    )
    assert len(result["passes"]) > 10  # axe really ran
    return [
        f"{page.url} {v['id']}: {v['help']} ({[n['target'] for n in v['nodes']][:3]})"
        for v in result["violations"]
    ]


def test_an_analyst_builds_a_query_sees_its_chart_and_map_and_downloads_it(
    live_server: Any,
    browser: Any,
    loaded: Path,  # noqa: F811
) -> None:
    camden = make_organisation()
    make_agreement(
        camden,
        ("police-uk-street", "record", "snapped_point", ()),
        (LAS_ID, "aggregate", "ward", ("sex",)),
    )
    analyst = make_member(camden, "ana@camden.gov.uk")
    device = enrol(analyst)
    base = live_server.url
    context = browser.new_context(accept_downloads=True)
    context.add_init_script(path=str(AXE))
    try:
        page = context.new_page()
        problems = collect_problems(page)
        page.goto(f"{base}/sign-in")
        page.fill("#id_email", analyst.email)
        page.fill("#id_password", PASSWORD)
        page.click("button:has-text('Continue')")
        page.fill("#id_code", code_for(device))
        page.click("button:has-text('Continue')")
        page.check("#id_accept")
        page.click("button:has-text('Accept and continue')")

        # Choose a dataset, then build a query: injuries by type.
        page.click("#navigation >> text=Query")
        assert page.inner_text("h1") == "Query"
        page.click("text=London Ambulance Service dispatches to violence-related injuries")
        assert page.inner_text("h1") == (
            "London Ambulance Service dispatches to violence-related injuries"
        )
        assert page.locator("input[name=group_by][value=sex]").count() == 0  # withheld
        # The live count follows the form: every dispatch, then too few stabbings to show.
        page.wait_for_selector("#live-count-figure")
        assert page.inner_text("#live-count-figure") == "40"
        violations = axe_violations(page)
        page.locator("details:has(input[name=f_injury_type]) summary").click()
        page.check("input[name=f_injury_type][value=stab]")
        expect(page.locator("#live-count-figure")).to_have_text("[c]")
        assert "too few to show" in page.inner_text("#live-count")
        page.uncheck("input[name=f_injury_type][value=stab]")
        expect(page.locator("#live-count-figure")).to_have_text("40")
        page.check("input[name=group_by][value=injury_type]")
        page.click("button:has-text('Show results')")
        page.wait_for_selector("#result-table")
        assert "run=1" in page.url and "group_by=injury_type" in page.url  # a permalink
        table = page.inner_text("#result-table")
        assert "Stabbing\t[c]" in table and "Assault\t30" in table
        assert "2 suppressed cells are not plotted" in page.inner_text("#chart")
        page.wait_for_selector("#chart .safestats-chart .main-svg")  # Plotly drew it
        plotted = page.evaluate("document.querySelector('#chart .safestats-chart').data[0].y")
        assert plotted == [30, None, None, 0, 0]  # [c] cells are gaps, not numbers
        assert page.evaluate("document.activeElement.id") == "results-heading"
        violations += axe_violations(page)

        # Grouped by borough and month: a line chart, and a map of the boroughs.
        page.uncheck("input[name=group_by][value=injury_type]")
        page.check("input[name=group_by][value=borough_code]")
        page.select_option("#id_time_unit", "month")
        page.click("button:has-text('Show results')")
        page.wait_for_selector("#map svg.safestats-map")
        assert page.locator("#map path.safestats-map__area").count() == 33
        page.wait_for_selector("#chart .safestats-chart .scatterlayer")
        assert "Westminster" in page.inner_text("#result-table")
        violations += axe_violations(page)

        # The same address, opened afresh, shows the same results (no JavaScript needed).
        page.goto(page.url)
        assert page.locator("#map path.safestats-map__area").count() == 33

        downloads = {}
        for fmt, link in (("csv", "Download as CSV"), ("xlsx", "Download as XLSX (Excel)")):
            with page.expect_download() as download:
                page.click(f"#downloads >> text={link}")
            name = download.value.suggested_filename
            assert name.startswith(f"{LAS_ID}-v1-") and name.endswith(f".{fmt}")
            downloads[fmt] = Path(download.value.path()).read_bytes()
        lines = list(csv.reader(io.StringIO(downloads["csv"].decode("utf-8-sig"))))
        assert lines[0][0].startswith(f"SafeStats: {LAS_ID} version 1; query ")
        assert lines[1] == ["borough_code", "borough_code_label", "month", "count"]
        assert ["E09000033", "Westminster", "2024-01", "40"] in lines
        book = load_workbook(io.BytesIO(downloads["xlsx"]), read_only=True)
        assert book.sheetnames == ["About", "Data"]

        events = AuditEvent.objects.filter(event="query.downloaded", actor_id=analyst.pk)
        hashes = {e.payload["format"]: e.payload["sha256"] for e in events}
        assert hashes == {fmt: hashlib.sha256(data).hexdigest() for fmt, data in downloads.items()}
        assert problems == []  # nothing blocked by the Content Security Policy, no errors
        assert violations == []
    finally:
        context.close()
