"""Searching the log and writing it as CSV: the selectors the admin page and the command
share, and the export service that records itself."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from django.utils import timezone

from safestats.audit.models import AuditEvent
from safestats.audit.selectors import CSV_COLUMNS, safe_cell, search_events, write_events_csv
from safestats.audit.services import Actor, export_events, record

pytestmark = pytest.mark.django_db

ANA = Actor(
    kind="user", id=1, label="ana@camden.gov.uk", organisation_id=3, organisation_name="Camden"
)
BEN = Actor(
    kind="user", id=2, label="ben@brent.gov.uk", organisation_id=4, organisation_name="Brent"
)


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=UTC)


@pytest.fixture
def log(monkeypatch: pytest.MonkeyPatch) -> None:
    """Five events on known days (record() takes its time from the clock)."""
    moments = iter([at(1), at(2, 23), at(3), at(3, 18), at(5)])
    monkeypatch.setattr(timezone, "now", lambda: next(moments))
    record("account.signed_in", actor=ANA)
    record("dataset.downloaded", actor=ANA, target_type="catalogue.version", target_id="v1")
    record("account.signed_in", actor=BEN)
    record("accounts_admin.changed", actor=Actor.system())
    record("dataset.downloaded", actor=BEN, target_type="catalogue.version", target_id="v2")
    monkeypatch.undo()


def seqs(**filters: object) -> list[int]:
    return list(search_events(**filters).values_list("seq", flat=True))  # type: ignore[arg-type]


def test_search_filters(log: None) -> None:
    assert seqs() == [1, 2, 3, 4, 5]
    assert seqs(since=at(2, 23)) == [2, 3, 4, 5]
    assert seqs(until=at(3)) == [1, 2], "until is exclusive"
    assert seqs(since=at(2), until=at(4)) == [2, 3, 4]
    assert seqs(event_prefix="account.") == [1, 3]
    assert seqs(event_prefix="ACCOUNT") == [1, 3, 4], "a prefix, in any case, on both databases"
    assert seqs(event_prefix="dataset.downloaded") == [2, 5]
    assert seqs(actor="ANA@Camden.gov.uk") == [1, 2]
    assert seqs(actor="operator") == [4]
    assert seqs(organisation_id=4) == [3, 5]
    assert seqs(target_type="catalogue.version", target_id="v2") == [5]
    assert seqs(actor="ben@brent.gov.uk", event_prefix="dataset.") == [5]
    assert seqs(actor="nobody@example.org") == []


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+44 20", "'+44 20"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("a=b", "a=b"),
        ("", ""),
        (None, ""),
        ("'quoted", "'quoted"),
    ],
)
def test_cells_that_a_spreadsheet_would_run_are_made_text(value: str | None, cell: str) -> None:
    assert safe_cell(value) == cell


def test_csv_has_a_bom_the_columns_and_no_formulas() -> None:
    record(
        "dataset.downloaded",
        actor=Actor(
            kind="user",
            id=1,
            label='=HYPERLINK("http://evil.example","x")',
            organisation_name="-Org",
        ),
        target_type="catalogue.version",
        target_id="@v1",
        payload={"note": "Holborn – St Giles ✓"},
    )
    stream = io.StringIO()
    assert write_events_csv(search_events(), stream) == 1
    text = stream.getvalue()
    assert text.startswith("\ufeffseq,occurred_at,")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows[0] == list(CSV_COLUMNS)
    row = dict(zip(CSV_COLUMNS, rows[1], strict=True))
    event = AuditEvent.objects.get()
    assert row == {
        "seq": "1",
        "occurred_at": event.occurred_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "event": "dataset.downloaded",
        "actor_kind": "user",
        "actor_label": '\'=HYPERLINK("http://evil.example","x")',
        "organisation_name": "'-Org",
        "target_type": "catalogue.version",
        "target_id": "'@v1",
        "request_id": "",
        "ip": "",
        "payload": '{"note":"Holborn – St Giles ✓"}',
        "hash": event.hash,
    }
    assert text.encode("utf-8").startswith(b"\xef\xbb\xbfseq")


def test_an_export_is_recorded_before_it_is_written_and_does_not_contain_itself(log: None) -> None:
    stream = io.StringIO()
    count = export_events(
        stream, by=Actor.system(), event_prefix="account.", since=at(1), destination="out.csv"
    )
    assert count == 2
    rows = list(csv.DictReader(io.StringIO(stream.getvalue().removeprefix("\ufeff"))))
    assert [row["seq"] for row in rows] == ["1", "3"]
    exported = AuditEvent.objects.get(seq=6)
    assert (exported.event, exported.actor_kind, exported.actor_label) == (
        "audit.exported",
        "system",
        "operator",
    )
    assert exported.target_type == "audit.log"
    assert json.loads(exported.payload_json) == {
        "destination": "out.csv",
        "filters": {
            "actor": "",
            "event_prefix": "account.",
            "organisation_id": None,
            "since": "2026-03-01T12:00:00+00:00",
            "target_id": "",
            "target_type": "",
            "until": None,
        },
        "rows": 2,
        "up_to_seq": 5,
    }
    again = io.StringIO()
    assert export_events(again, by=Actor.system()) == 6, "the first export is in the second"
