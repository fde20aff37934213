"""Browser journeys over the service pages in headless Chromium: styles load under the
Content Security Policy, nothing is blocked, pages work without JavaScript, and axe-core
finds no WCAG 2.2 A or AA failure."""

from __future__ import annotations

from typing import Any

import pytest

from safestats.accounts.models import Role
from tests.conftest import REPO
from tests.signin import PASSWORD, code_for, enrol, make_agreement, make_member, make_organisation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
PAGES = [
    "/",
    "/accessibility",
    "/cookies",
    "/privacy",
    "/no-such-page",
    "/sign-in",
    "/register",
    "/password-reset",
]


def collect_problems(page: Any) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url} {r.failure}"))
    return problems


@pytest.mark.parametrize("path", PAGES)
def test_page_loads_with_styles_and_scripts_and_no_csp_violation(
    live_server: Any, page: Any, path: str
) -> None:
    problems = collect_problems(page)
    page.goto(f"{live_server.url}{path}")
    page.wait_for_load_state("networkidle")
    if path == "/no-such-page":  # the page's own 404 status is reported as a console error
        problems.remove(
            "Failed to load resource: the server responded with a status of 404 (Not Found)"
        )
    assert problems == []
    header_colour = page.eval_on_selector(
        ".safestats-header", "e => getComputedStyle(e).backgroundColor"
    )
    assert header_colour == "rgb(29, 112, 184)"  # GOV.UK blue: the stylesheet applied
    body_classes = page.eval_on_selector("body", "e => e.className")
    assert "govuk-frontend-supported" in body_classes  # our external js-enabled script ran


def test_skip_link_is_the_first_thing_the_keyboard_reaches(live_server: Any, page: Any) -> None:
    page.goto(live_server.url)
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent.trim()")
    assert focused == "Skip to main content"
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main-content"


def test_start_page_works_without_javascript(live_server: Any, browser: Any) -> None:
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(live_server.url)
        assert page.inner_text("h1") == "Community safety data for London"
        assert page.is_visible("text=Who can use this service")
        page.click("text=Accessibility statement")
        assert page.inner_text("h1") == "Accessibility statement for SafeStats"
    finally:
        context.close()


def axe_violations(page: Any) -> list[str]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        """() => axe.run(document, {runOnly: {type: 'tag',
             values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})"""
    )
    assert len(result["passes"]) > 10  # axe really ran
    return [
        f"{page.url} {v['id']}: {v['help']} ({[n['target'] for n in v['nodes']][:3]})"
        for v in result["violations"]
    ]


def test_signed_in_pages_have_no_wcag_22_aa_failures(live_server: Any, browser: Any) -> None:
    camden = make_organisation()
    make_agreement(camden, ("mps-recorded-crime", "aggregate", "ward", ()))
    make_member(camden, "waiting@camden.gov.uk", status="pending")
    admin = make_member(camden, "boss@camden.gov.uk", role=Role.ORGANISATION_ADMIN)
    device = enrol(admin)
    context = browser.new_context(bypass_csp=True)  # for the injected checker only
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/sign-in")
        page.fill("#id_email", admin.email)
        page.fill("#id_password", PASSWORD)
        page.click("button:has-text('Continue')")
        violations = axe_violations(page)  # the security code page
        page.fill("#id_code", code_for(device))
        page.click("button:has-text('Continue')")
        assert "Conditions of Use" in page.inner_text("h1"), page.inner_text("main")
        violations += axe_violations(page)  # the Conditions of Use
        page.check("#id_accept")
        page.click("button:has-text('Accept and continue')")
        for path in ("/account", "/organisation", "/organisation/invite"):
            page.goto(f"{live_server.url}{path}")
            violations += axe_violations(page)
        page.goto(f"{live_server.url}/organisation")
        page.click("#pending a:has-text('Decline')")
        page.click("button:has-text('Decline')")  # empty reason: the error state
        assert "Give a reason" in page.inner_text(".govuk-error-summary")
        violations += axe_violations(page)
        assert violations == []
    finally:
        context.close()


@pytest.mark.parametrize("path", PAGES)
def test_no_wcag_22_aa_failures(live_server: Any, browser: Any, path: str) -> None:
    # axe-core is injected as a script, which our CSP rightly forbids: bypass it for the
    # checker only (the CSP itself is checked in the test above and in test_pages).
    context = browser.new_context(bypass_csp=True)
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}{path}")
        assert axe_violations(page) == []
    finally:
        context.close()
