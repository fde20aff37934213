"""The chain engine on its own: for any chain, ``verify`` passes, and any single tampering
with one row is found at the right row, with the right reason."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from safestats.audit.chain import (
    GENESIS,
    ChainFields,
    Head,
    StoredRow,
    canonical_ip,
    canonical_json,
    verify,
)

BASE = datetime(2026, 1, 1, tzinfo=UTC)
HASHES = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)
TEXT = st.text(max_size=20)
IPS = st.one_of(st.none(), st.ip_addresses().map(str))
EVENTS = st.from_regex(r"[a-z]{1,8}\.[a-z_]{1,10}", fullmatch=True)


@st.composite
def contents(draw: st.DrawFn) -> dict[str, object]:
    """Everything a row records except its position and link."""
    return {
        "occurred_at": BASE + timedelta(microseconds=draw(st.integers(0, 10**12))),
        "event": draw(EVENTS),
        "actor_kind": draw(st.sampled_from(["user", "system", "anonymous"])),
        "actor_id": draw(st.none() | st.integers(1, 10**6)),
        "actor_label": draw(TEXT),
        "organisation_id": draw(st.none() | st.integers(1, 10**6)),
        "organisation_name": draw(TEXT),
        "target_type": draw(TEXT),
        "target_id": draw(TEXT),
        "request_id": draw(TEXT),
        "ip": draw(IPS),
        "payload_json": canonical_json(draw(st.dictionaries(TEXT, st.integers() | TEXT))),
    }


def link(items: list[dict[str, object]]) -> list[StoredRow]:
    """A valid chain of rows with these contents, numbered from 1."""
    rows = []
    previous = GENESIS
    for seq, item in enumerate(items, start=1):
        fields = ChainFields(seq=seq, prev_hash=previous, **item)  # type: ignore[arg-type]
        previous = fields.digest()
        rows.append(StoredRow(fields, previous))
    return rows


chains = st.lists(contents(), min_size=1, max_size=12).map(link)
# Examples are pure computation; their time says only how loaded the machine is.
untimed = settings(deadline=None)


def replace(row: StoredRow, **changes: object) -> StoredRow:
    """The row with some fields changed and its stored hash left as it was."""
    hash_ = changes.pop("hash", row.hash)
    return StoredRow(dataclasses.replace(row.fields, **changes), hash_)  # type: ignore[arg-type]


def forge(row: StoredRow, **changes: object) -> StoredRow:
    """The row changed, with a fresh hash that matches its new contents."""
    fields = dataclasses.replace(row.fields, **changes)  # type: ignore[arg-type]
    return StoredRow(fields, fields.digest())


# --- an intact chain --------------------------------------------------------------------


@untimed
@given(chains)
def test_any_chain_verifies_and_reports_its_head(rows: list[StoredRow]) -> None:
    result = verify(rows)
    assert result.ok, result.reason
    assert (result.checked, result.last_seq, result.last_hash) == (
        len(rows),
        len(rows),
        rows[-1].hash,
    )
    assert result.first_bad_seq is None
    assert result.reason == ""


def test_an_empty_log_is_intact_with_the_genesis_head() -> None:
    result = verify([])
    assert (result.ok, result.checked, result.last_seq, result.last_hash) == (True, 0, 0, GENESIS)


def test_verify_reads_a_stream_lazily_and_stops_at_the_first_bad_row() -> None:
    rows = link([{**BASE_CONTENT, "payload_json": canonical_json({"n": n})} for n in range(50)])
    rows[9] = replace(rows[9], actor_label="someone else")
    seen = []

    def stream():
        for row in rows:
            seen.append(row.fields.seq)
            yield row

    assert verify(stream()).first_bad_seq == 10
    assert seen == list(range(1, 11))


BASE_CONTENT: dict[str, object] = {
    "occurred_at": BASE,
    "event": "account.signed_in",
    "actor_kind": "user",
    "actor_id": 7,
    "actor_label": "ana@camden.gov.uk",
    "organisation_id": 3,
    "organisation_name": "Camden",
    "target_type": "",
    "target_id": "",
    "request_id": "r-1",
    "ip": "192.0.2.1",
    "payload_json": "{}",
}


# --- single tampering, found at the right row --------------------------------------------

NEW_VALUES = {
    "seq": st.integers(-5, 40),
    "occurred_at": st.integers(-(10**9), 10**9)
    .filter(bool)
    .map(lambda us: timedelta(microseconds=us)),
    "event": EVENTS,
    "actor_kind": st.sampled_from(["user", "system", "anonymous", "admin"]),
    "actor_id": st.none() | st.integers(0, 10**6),
    "actor_label": TEXT,
    "organisation_id": st.none() | st.integers(0, 10**6),
    "organisation_name": TEXT,
    "target_type": TEXT,
    "target_id": TEXT,
    "request_id": TEXT,
    "ip": IPS,
    "payload_json": st.text(max_size=30),
    "prev_hash": HASHES,
    "hash": HASHES,
}


@untimed
@given(chains, st.data(), st.sampled_from(sorted(NEW_VALUES)))
def test_an_edit_of_any_field_of_any_row_is_found_at_that_row(
    rows: list[StoredRow], data: st.DataObject, field: str
) -> None:
    k = data.draw(st.integers(1, len(rows)))
    row = rows[k - 1]
    new: Any = data.draw(NEW_VALUES[field])
    if field == "occurred_at":
        new = row.fields.occurred_at + new
    old = row.hash if field == "hash" else getattr(row.fields, field)
    if field == "ip":
        assume(canonical_ip(new) != canonical_ip(old))
    assume(new != old)
    tampered = [*rows[: k - 1], replace(row, **{field: new}), *rows[k:]]

    result = verify(tampered)

    assert not result.ok
    assert result.checked == k - 1
    if field == "seq" and new == k - 1 > 0:
        # The row now shares its predecessor's number; either could be the intruder.
        assert (result.first_bad_seq, result.reason) == (
            k - 1,
            f"row {k - 1} appears twice (duplicate seq)",
        )
    else:
        assert result.first_bad_seq == k
    if field == "prev_hash":
        assert result.reason == (
            f"row {k} does not follow row {k - 1} (prev_hash mismatch): "
            "a row was inserted, deleted or reordered"
            if k > 1
            else "row 1 is not linked to the start of the chain "
            "(its prev_hash is not the genesis hash)"
        )
    elif field != "seq":
        assert result.reason == f"row {k} was edited (its hash does not match its contents)"


@untimed
@given(chains.filter(lambda rows: len(rows) >= 2), st.data())
def test_deleting_any_row_but_the_last_is_found(rows: list[StoredRow], data: st.DataObject) -> None:
    k = data.draw(st.integers(1, len(rows) - 1))
    result = verify(rows[: k - 1] + rows[k:])
    assert not result.ok
    assert result.first_bad_seq == k
    if k == 1:
        assert result.reason == "row 1 is missing (the log starts at row 2)"
    else:
        assert result.reason == f"row {k} is missing (seq jumps from {k - 1} to {k + 1})"


@untimed
@given(chains, st.data(), contents())
def test_inserting_a_row_anywhere_before_the_newest_is_found(
    rows: list[StoredRow], data: st.DataObject, content: dict[str, object]
) -> None:
    """The forged row carries a hash that matches its own contents, and either the number
    and link of the row it displaces (the best forgery) or anything else."""
    k = data.draw(st.integers(1, len(rows)))
    displaced = rows[k - 1].fields
    seq = data.draw(st.just(k) | st.integers(-2, len(rows) + 3), label="forged seq")
    prev_hash = data.draw(st.just(displaced.prev_hash) | HASHES, label="forged prev_hash")
    forged = forge(rows[k - 1], seq=seq, prev_hash=prev_hash, **content)
    assume(forged.fields != displaced)

    result = verify([*rows[: k - 1], forged, *rows[k - 1 :]])

    assert not result.ok
    # A forged number equal to the previous row's is a duplicate of that number.
    assert result.first_bad_seq == (k - 1 if seq == k - 1 > 0 else k)
    if seq == k and prev_hash == displaced.prev_hash:
        assert result.reason == f"row {k} appears twice (duplicate seq)"


@untimed
@given(chains.filter(lambda rows: len(rows) >= 2), st.data())
def test_swapping_two_rows_is_found_at_the_first(
    rows: list[StoredRow], data: st.DataObject
) -> None:
    a = data.draw(st.integers(1, len(rows) - 1))
    b = data.draw(st.integers(a + 1, len(rows)))
    swapped = list(rows)
    swapped[a - 1], swapped[b - 1] = rows[b - 1], rows[a - 1]
    result = verify(swapped)
    assert (result.ok, result.first_bad_seq) == (False, a)


@untimed
@given(chains.filter(lambda rows: len(rows) >= 2), st.data())
def test_swapping_the_numbers_of_two_rows_is_found_at_the_first(
    rows: list[StoredRow], data: st.DataObject
) -> None:
    """What a reorder looks like in the database: rows read by seq, contents exchanged."""
    a = data.draw(st.integers(1, len(rows) - 1))
    b = data.draw(st.integers(a + 1, len(rows)))
    swapped = list(rows)
    swapped[a - 1] = replace(rows[b - 1], seq=a)
    swapped[b - 1] = replace(rows[a - 1], seq=b)
    result = verify(swapped)
    assert (result.ok, result.first_bad_seq) == (False, a)
    if a == 1:
        assert result.reason.startswith("row 1 is not linked to the start of the chain")
    else:
        assert result.reason == (
            f"row {a} does not follow row {a - 1} (prev_hash mismatch): "
            "a row was inserted, deleted or reordered"
        )


# --- the messages, one by one -------------------------------------------------------------

ROWS = link([{**BASE_CONTENT, "payload_json": canonical_json({"n": n})} for n in range(1, 21)])


@pytest.mark.parametrize(
    ("rows", "first_bad", "checked", "reason"),
    [
        (
            [*ROWS[:16], replace(ROWS[16], payload_json='{"n":999}'), *ROWS[17:]],
            17,
            16,
            "row 17 was edited (its hash does not match its contents)",
        ),
        (
            [*ROWS[:17], *ROWS[18:]],
            18,
            17,
            "row 18 is missing (seq jumps from 17 to 19)",
        ),
        (
            [*ROWS[:17], *ROWS[19:]],
            18,
            17,
            "rows 18 to 19 are missing (seq jumps from 17 to 20)",
        ),
        (
            [*ROWS[:17], replace(ROWS[17], prev_hash=ROWS[15].hash), *ROWS[18:]],
            18,
            17,
            "row 18 does not follow row 17 (prev_hash mismatch): "
            "a row was inserted, deleted or reordered",
        ),
        (
            [*ROWS[:10], ROWS[4], *ROWS[10:]],
            11,
            10,
            "rows out of order (row 5 comes after row 10)",
        ),
        ([*ROWS[:10], ROWS[9], *ROWS[10:]], 10, 10, "row 10 appears twice (duplicate seq)"),
        (ROWS[3:], 1, 0, "rows 1 to 3 are missing (the log starts at row 4)"),
        (
            [replace(ROWS[0], seq=0), *ROWS[1:]],
            1,
            0,
            "the log does not start at row 1 (its first row is numbered 0)",
        ),
        (
            [forge(ROWS[0], prev_hash="f" * 64), *ROWS[1:]],
            1,
            0,
            "row 1 is not linked to the start of the chain (its prev_hash is not the genesis hash)",
        ),
    ],
    ids=[
        "edited",
        "missing",
        "two-missing",
        "unlinked",
        "out-of-order",
        "duplicate",
        "head-cut",
        "seq-0",
        "genesis",
    ],
)
def test_each_kind_of_damage_is_named_in_words(
    rows: list[StoredRow], first_bad: int, checked: int, reason: str
) -> None:
    result = verify(rows)
    assert (result.ok, result.first_bad_seq, result.checked, result.reason) == (
        False,
        first_bad,
        checked,
        reason,
    )
    assert result.last_seq == checked
    assert result.last_hash == (ROWS[checked - 1].hash if checked else GENESIS)


# --- what the chain alone cannot see, and the kept head that can ---------------------------


def test_a_well_formed_append_or_a_cut_at_the_end_passes_without_a_kept_head() -> None:
    appended = forge(ROWS[0], seq=21, prev_hash=ROWS[-1].hash, actor_label="forger")
    assert verify([*ROWS, appended]).ok
    assert verify(ROWS[:15]).ok


def test_a_kept_head_catches_removal_of_the_newest_rows() -> None:
    result = verify(ROWS[:15], known_head=Head(20, ROWS[19].hash))
    assert (result.ok, result.first_bad_seq, result.checked) == (False, 16, 15)
    assert result.reason == (
        "rows 16 to 20 are missing (the log ends at row 15 but a head hash was kept for "
        "row 20): the newest rows were removed"
    )


def test_a_kept_head_catches_a_log_rewritten_with_fresh_hashes() -> None:
    rewritten = link(
        [{**BASE_CONTENT, "payload_json": canonical_json({"n": n})} for n in range(1, 21)][:5]
        + [{**BASE_CONTENT, "actor_label": "rewritten"}]
        + [{**BASE_CONTENT, "payload_json": canonical_json({"n": n})} for n in range(7, 21)]
    )
    assert verify(rewritten).ok
    result = verify(rewritten, known_head=Head(20, ROWS[19].hash))
    assert (result.ok, result.first_bad_seq) == (False, 20)
    assert result.reason == (
        "row 20 does not match the head hash kept for it: the log was rewritten up to or "
        "past row 20"
    )
    assert verify(ROWS, known_head=Head(20, ROWS[19].hash)).ok
    assert verify(
        [*ROWS, forge(ROWS[0], seq=21, prev_hash=ROWS[-1].hash)], known_head=Head(20, ROWS[19].hash)
    ).ok


# --- the hashed spelling of values ---------------------------------------------------------


@pytest.mark.parametrize(
    ("given_ip", "expected"),
    [
        ("192.0.2.1", "192.0.2.1"),
        ("2001:DB8:0:0::1", "2001:db8::1"),
        ("::ffff:192.0.2.1", "192.0.2.1"),
        ("::ffff:c000:201", "192.0.2.1"),
        (" 10.0.0.1 ", "10.0.0.1"),
        ("not an address", None),
        ("", None),
        (None, None),
    ],
)
def test_addresses_have_one_spelling(given_ip: str | None, expected: str | None) -> None:
    assert canonical_ip(given_ip) == expected


def test_the_hash_does_not_depend_on_the_time_zone_or_the_address_spelling() -> None:
    fields = ROWS[0].fields
    london = timezone(timedelta(hours=1))
    assert (
        dataclasses.replace(fields, occurred_at=fields.occurred_at.astimezone(london)).digest()
        == fields.digest()
    )
    mapped = dataclasses.replace(fields, ip="::ffff:192.0.2.1")
    assert mapped.digest() == fields.digest()
    assert dataclasses.replace(fields, ip="192.0.2.2").digest() != fields.digest()


def test_the_hash_is_pinned() -> None:
    """The algorithm is a stored contract: a changed hash would break every existing log."""
    assert ROWS[0].hash == ROWS[0].fields.digest()
    assert ROWS[0].fields.digest() == PINNED


PINNED = "f05141156f8ea8780b9ec57bcc8953cf0c7599224d3945f71ccf9c4f09f8d14f"
