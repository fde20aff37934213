"""record(): what it writes, what it refuses, and that it writes only with the change."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.http import HttpRequest

from safestats.audit.chain import GENESIS
from safestats.audit.models import AuditEvent
from safestats.audit.selectors import verify_chain
from safestats.audit.services import Actor, record

pytestmark = pytest.mark.django_db


def request_from(address: str, forwarded: str = "") -> HttpRequest:
    request = HttpRequest()
    request.META["REMOTE_ADDR"] = address
    if forwarded:
        request.META["HTTP_X_FORWARDED_FOR"] = forwarded
    request.id = "req-1"  # type: ignore[attr-defined]
    return request


def test_events_are_numbered_and_chained_from_genesis() -> None:
    first = record("thing.created", actor=Actor.system(), payload={"b": 2, "a": "ü"})
    second = record("thing.updated", actor=None, target_type="thing", target_id="42")
    assert (first.seq, first.prev_hash) == (1, GENESIS)
    assert (second.seq, second.prev_hash) == (2, first.hash)
    assert first.payload_json == '{"a":"ü","b":2}'
    assert (second.actor_kind, second.target_id) == ("anonymous", "42")
    stored = AuditEvent.objects.get(seq=1)
    assert stored.chain_fields().digest() == stored.hash == first.hash


@pytest.mark.parametrize(
    "name",
    [
        "signed_in",
        "Account.signed_in",
        "account.",
        ".signed_in",
        "account signed_in",
        "account.signed-in",
        "account..signed_in",
        "1account.signed_in",
        "",
        "account." + "x" * 93,
    ],
)
def test_malformed_event_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="audit event names are"):
        record(name, actor=Actor.system())
    assert not AuditEvent.objects.exists()


def test_the_longest_event_name_the_column_holds_is_accepted() -> None:
    name = "account." + "x" * 92
    assert len(name) == 100
    record(name, actor=Actor.system())
    assert AuditEvent.objects.get().event == name
    assert verify_chain().ok


@pytest.mark.parametrize(
    ("payload", "where"),
    [
        ({"password": "hunter2"}, "payload.password"),
        ({"new_Password": "x"}, "payload.new_Password"),
        ({"user": {"otp_token": "123456"}}, "payload.user.otp_token"),
        ({"keys": [{"API_KEY": "k"}]}, "payload.keys[0].API_KEY"),
        ({"client_secret": "s"}, "payload.client_secret"),
        ({"recovery_codes": ["a"]}, "payload.recovery_codes"),
        ({"totp_device": 1}, "payload.totp_device"),
    ],
)
def test_payload_keys_that_look_like_secrets_are_refused(payload: dict, where: str) -> None:
    with pytest.raises(ValueError) as info:
        record("account.updated", actor=Actor.system(), payload=payload)
    assert str(info.value) == f"{where} looks like a secret and must not be audited"
    assert not AuditEvent.objects.exists()


def test_an_event_recorded_in_a_transaction_that_rolls_back_is_not_kept() -> None:
    record("thing.created", actor=Actor.system())

    class Failed(Exception):
        pass

    with pytest.raises(Failed), transaction.atomic():
        record("thing.deleted", actor=Actor.system())
        raise Failed
    assert list(AuditEvent.objects.values_list("seq", "event")) == [(1, "thing.created")]
    nxt = record("thing.updated", actor=Actor.system())
    assert (nxt.seq, nxt.prev_hash) == (2, AuditEvent.objects.get(seq=1).hash)
    assert verify_chain().ok


@pytest.mark.parametrize(
    ("address", "stored"),
    [
        ("192.0.2.1", "192.0.2.1"),
        ("2001:DB8:0::1", "2001:db8::1"),
        ("::ffff:192.0.2.1", "192.0.2.1"),
        ("not-an-address", None),
    ],
)
def test_the_address_is_stored_as_hashed_and_the_chain_verifies(
    address: str, stored: str | None
) -> None:
    event = record("account.signed_in", actor=None, request=request_from(address))
    assert (event.ip, event.request_id) == (stored, "req-1")
    assert AuditEvent.objects.get().ip == stored
    assert verify_chain().ok


def test_behind_a_proxy_the_address_the_proxy_saw_is_recorded(settings) -> None:
    settings.SAFESTATS_BEHIND_PROXY = True
    record(
        "account.signed_in", actor=None, request=request_from("10.0.0.1", "1.1.1.1, 2001:db8::5")
    )
    record("account.signed_in", actor=None, request=request_from("10.0.0.1", "forged, garbage"))
    assert list(AuditEvent.objects.values_list("ip", flat=True)) == ["2001:db8::5", None]
    assert verify_chain().ok


def test_a_user_is_recorded_with_their_organisation_unless_told_otherwise() -> None:
    class Organisation:
        def __init__(self, pk: int, name: str) -> None:
            self.pk, self.name = pk, name

    class User:
        is_authenticated = True
        pk = 5
        email = "ana@camden.gov.uk"
        organisation = Organisation(3, "Camden")

    mine = record("dataset.viewed", actor=User())
    other = record("organisation.updated", actor=User(), organisation=Organisation(9, "Brent"))
    assert (mine.actor_kind, mine.actor_id, mine.actor_label) == ("user", 5, "ana@camden.gov.uk")
    assert (mine.organisation_id, mine.organisation_name) == (3, "Camden")
    assert (other.organisation_id, other.organisation_name) == (9, "Brent")
