"""verify_chain() on the database: intact after a busy day, and broken at the right row by
each kind of tampering someone with write access to the database could do."""

from __future__ import annotations

import pytest

from safestats.audit.chain import Head
from safestats.audit.models import AuditEvent
from safestats.audit.selectors import verify_chain
from safestats.audit.services import Actor, record
from tests.integration.audit_helpers import EXPECTED, TAMPERED_ROW, cut, tamper, write_busy_log

pytestmark = pytest.mark.django_db


def test_an_empty_log_is_intact() -> None:
    result = verify_chain()
    assert (result.ok, result.checked, result.last_seq) == (True, 0, 0)


def test_a_busy_log_verifies_in_small_chunks() -> None:
    write_busy_log(250)
    newest = AuditEvent.objects.get(seq=250)
    for chunk_size in (1, 7, 2000):
        result = verify_chain(chunk_size=chunk_size)
        assert (result.ok, result.checked, result.last_hash) == (True, 250, newest.hash)


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_each_tampering_is_found_at_the_right_row(kind: str) -> None:
    write_busy_log(40)
    tamper(kind, TAMPERED_ROW)
    result = verify_chain(chunk_size=5)
    first_bad, reason = EXPECTED[kind]
    assert (result.ok, result.first_bad_seq, result.reason) == (False, first_bad, reason)
    assert result.checked == first_bad - 1


def test_removing_the_newest_rows_is_found_only_against_a_kept_head() -> None:
    write_busy_log(30)
    head = verify_chain()
    assert head.ok
    cut(27)
    assert verify_chain().ok, "a cut at the end leaves a valid, shorter chain"
    result = verify_chain(known_head=Head(head.last_seq, head.last_hash))
    assert (result.ok, result.first_bad_seq) == (False, 28)
    assert result.reason.startswith("rows 28 to 30 are missing (the log ends at row 27")


def test_appending_after_a_check_keeps_the_kept_head_valid() -> None:
    write_busy_log(10)
    head = verify_chain()
    record("thing.created", actor=Actor.system())
    assert verify_chain(known_head=Head(head.last_seq, head.last_hash)).ok
