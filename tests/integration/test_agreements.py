"""Data Sharing Agreements: drafting, activation and revocation (each audited), what they
grant and every change to it (before and after in the log), and which grant is in force
at an instant, to the microsecond."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, event, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from safestats.audit.models import AuditEvent
from safestats.audit.services import Actor
from safestats.organisations import grants, selectors, services
from safestats.organisations.errors import (
    Conflict,
    InvalidValue,
    NotPermitted,
    TransitionNotAllowed,
)
from safestats.organisations.forms import AgreementForm, GrantForm
from safestats.organisations.grants import Grant
from safestats.organisations.models import DataSharingAgreement
from tests.factories import (
    AgreementDatasetFactory,
    DataSharingAgreementFactory,
    OrganisationFactory,
    PlatformAdminFactory,
    UserFactory,
    pdf_bytes,
)

pytestmark = pytest.mark.django_db

OPERATOR = Actor.system()
START = datetime(2025, 3, 31, 23, 0, 0, 0, tzinfo=UTC)  # 1 April 2025, 00:00 in London
END = datetime(2028, 3, 31, 23, 0, 0, 0, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


@pytest.fixture(autouse=True)
def instance_home(settings: Any, tmp_path: Path) -> Path:
    settings.SAFESTATS_HOME = tmp_path
    return tmp_path


def last_event() -> AuditEvent:
    return AuditEvent.objects.order_by("-seq")[0]


def draft(**extra: Any) -> DataSharingAgreement:
    organisation = extra.pop("organisation", None) or OrganisationFactory.create(status="approved")
    return services.create_agreement(
        organisation=organisation,
        reference=extra.pop("reference", "DSA-2025-014"),
        legal_basis="s17",
        purpose="Violence reduction analysis for the community safety partnership",
        valid_from=START,
        valid_to=END,
        by=extra.pop("by", OPERATOR),
        **extra,
    )


def test_a_draft_is_created_and_audited() -> None:
    admin = PlatformAdminFactory.create()
    agreement = draft(by=admin)
    assert agreement.status == "draft" and agreement.document_sha256 == ""
    audit = last_event()
    assert audit.event == "agreement.created"
    assert (audit.actor_kind, audit.actor_id) == ("user", admin.pk)
    assert (audit.target_type, audit.target_id) == (
        "organisations.datasharingagreement",
        str(agreement.pk),
    )
    assert audit.organisation_id == agreement.organisation_id
    assert audit.payload == {
        "reference": "DSA-2025-014",
        "legal_basis": "s17",
        "legal_basis_other": "",
        "purpose": "Violence reduction analysis for the community safety partnership",
        "valid_from": "2025-03-31T23:00:00+00:00",
        "valid_to": "2028-03-31T23:00:00+00:00",
    }


def test_drafting_refuses_bad_input_in_words() -> None:
    organisation = OrganisationFactory.create()
    draft(organisation=organisation)
    with pytest.raises(Conflict, match="There is already an agreement DSA-2025-014"):
        draft(organisation=organisation, reference="dsa-2025-014")
    with pytest.raises(InvalidValue, match="Enter the legal basis for sharing"):
        services.create_agreement(
            organisation=organisation,
            reference="DSA-2",
            legal_basis="other",
            purpose="p",
            valid_from=START,
            valid_to=END,
            by=OPERATOR,
        )
    with pytest.raises(InvalidValue, match="must end after it starts"):
        services.create_agreement(
            organisation=organisation,
            reference="DSA-3",
            legal_basis="s115",
            purpose="p",
            valid_from=END,
            valid_to=END,
            by=OPERATOR,
        )
    with pytest.raises(InvalidValue, match="must include a time zone"):
        services.create_agreement(
            organisation=organisation,
            reference="DSA-4",
            legal_basis="s115",
            purpose="p",
            valid_from=datetime(2025, 4, 1),  # noqa: DTZ001 - the naive value is the point
            valid_to=END,
            by=OPERATOR,
        )
    withdrawn = OrganisationFactory.create(status="withdrawn")
    with pytest.raises(TransitionNotAllowed, match="has withdrawn"):
        draft(organisation=withdrawn, reference="DSA-5")
    with pytest.raises(NotPermitted):
        draft(reference="DSA-6", by=UserFactory.create())


def test_activation_needs_the_signed_document() -> None:
    agreement = draft()
    with pytest.raises(
        TransitionNotAllowed, match="cannot be activated until its signed document is uploaded"
    ):
        services.activate_agreement(agreement=agreement, by=OPERATOR)
    services.attach_document(
        agreement=agreement, document=SimpleUploadedFile("dsa.pdf", pdf_bytes()), by=OPERATOR
    )
    services.activate_agreement(agreement=agreement, by=OPERATOR)
    agreement.refresh_from_db()
    assert agreement.status == "active" and agreement.activated_at is not None
    audit = last_event()
    assert audit.event == "agreement.activated"
    assert audit.payload == {
        "from": "draft",
        "to": "active",
        "reason": "",
        "valid_from": "2025-03-31T23:00:00+00:00",
        "valid_to": "2028-03-31T23:00:00+00:00",
        "document_sha256": agreement.document_sha256,
    }


def test_an_agreement_that_has_ended_cannot_be_activated() -> None:
    agreement = DataSharingAgreementFactory.create(
        valid_from=timezone.now() - timedelta(days=400),
        valid_to=timezone.now() - timedelta(days=1),
        document_sha256="b" * 64,
    )
    with pytest.raises(TransitionNotAllowed, match="cannot be activated: it ended on"):
        services.activate_agreement(agreement=agreement, by=OPERATOR)


def test_revocation_needs_a_reason_and_is_final() -> None:
    agreement = DataSharingAgreementFactory.create(active=True)
    with pytest.raises(TransitionNotAllowed, match=f"Enter the reason {agreement.reference}"):
        services.revoke_agreement(agreement=agreement, reason=" ", by=OPERATOR)
    services.revoke_agreement(agreement=agreement, reason="Breach of clause 7", by=OPERATOR)
    agreement.refresh_from_db()
    assert agreement.status == "revoked" and agreement.revoked_reason == "Breach of clause 7"
    assert last_event().event == "agreement.revoked"
    assert last_event().payload == {
        "from": "active",
        "to": "revoked",
        "reason": "Breach of clause 7",
    }
    with pytest.raises(TransitionNotAllowed) as refused:
        services.activate_agreement(agreement=agreement, by=OPERATOR)
    assert refused.value.message == "An agreement that is revoked cannot be activated."
    with pytest.raises(TransitionNotAllowed, match="is revoked, so it cannot be changed"):
        services.set_grant(
            agreement=agreement,
            dataset_id="las-dispatch",
            access_level="record",
            precision="lsoa",
            by=OPERATOR,
        )


def test_a_draft_can_be_revoked() -> None:
    agreement = draft()
    services.revoke_agreement(agreement=agreement, reason="Never signed", by=OPERATOR)
    assert last_event().payload["from"] == "draft"


def test_every_grant_change_is_audited_with_before_and_after() -> None:
    agreement = DataSharingAgreementFactory.create(active=True)
    services.set_grant(
        agreement=agreement,
        dataset_id="las-dispatch",
        access_level="aggregate",
        precision="ward",
        withheld_fields=["sex", "age_band"],
        by=OPERATOR,
    )
    created = last_event()
    assert created.event == "agreement.grant_changed"
    assert created.payload == {
        "reference": agreement.reference,
        "dataset_id": "las-dispatch",
        "before": None,
        "after": {
            "dataset_id": "las-dispatch",
            "access_level": "aggregate",
            "withheld_fields": ["age_band", "sex"],
            "precision": "ward",
        },
    }
    services.set_grant(
        agreement=agreement,
        dataset_id="las-dispatch",
        access_level="record",
        precision="lsoa",
        withheld_fields=["age_band"],
        by=OPERATOR,
    )
    changed = last_event()
    assert changed.payload["before"] == created.payload["after"]
    assert changed.payload["after"] == {
        "dataset_id": "las-dispatch",
        "access_level": "record",
        "withheld_fields": ["age_band"],
        "precision": "lsoa",
    }
    # The same grant again changes nothing and logs nothing.
    services.set_grant(
        agreement=agreement,
        dataset_id="las-dispatch",
        access_level="record",
        precision="lsoa",
        withheld_fields=["age_band", "age_band"],
        by=OPERATOR,
    )
    assert last_event().seq == changed.seq
    services.remove_grant(agreement=agreement, dataset_id="las-dispatch", by=OPERATOR)
    assert last_event().payload["after"] is None
    assert not agreement.grants.exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("dataset_id", "LAS Dispatch", "Enter a dataset id"),
        ("access_level", "everything", "Choose the access level"),
        ("precision", "postcode", "Choose the finest spatial precision"),
        ("withheld_fields", ["Date Of Birth"], "is not a field name"),
    ],
)
def test_bad_grants_are_refused(field: str, value: Any, message: str) -> None:
    agreement = DataSharingAgreementFactory.create()
    arguments: dict[str, Any] = {
        "dataset_id": "las-dispatch",
        "access_level": "record",
        "precision": "lsoa",
        "withheld_fields": [],
    }
    arguments[field] = value
    with pytest.raises(InvalidValue, match=message):
        services.set_grant(agreement=agreement, **arguments, by=OPERATOR)


def test_grant_form_reads_withheld_fields_from_a_list() -> None:
    form = GrantForm(
        data={
            "dataset_id": "las-dispatch",
            "access_level": "record",
            "precision": "lsoa",
            "withheld_fields": "sex, age_band\nsex",
        }
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["withheld_fields"] == ["age_band", "sex"]
    assert GrantForm(data={"access_level": "x"}).errors == {
        "dataset_id": ["Enter the dataset id"],
        "access_level": ["Select the access level: aggregate or record"],
        "precision": ["Select the finest spatial precision allowed"],
    }


def test_agreement_form_turns_whole_days_in_london_into_instants() -> None:
    form = AgreementForm(
        data={
            "reference": "DSA-2025-014",
            "legal_basis": "s17",
            "purpose": "Violence reduction",
            "first_day": "2025-04-01",
            "last_day": "2028-03-31",
        }
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["valid_from"] == START  # midnight BST
    assert form.cleaned_data["valid_to"] == datetime(2028, 4, 1, 0, tzinfo=UTC) - timedelta(hours=1)
    backwards = AgreementForm(
        data={
            "reference": "DSA-1",
            "legal_basis": "other",
            "purpose": "p",
            "first_day": "2025-04-01",
            "last_day": "2025-03-31",
        }
    )
    assert backwards.errors == {
        "legal_basis_other": ["Enter the legal basis for sharing"],
        "last_day": ["The last day in force must be the same as or after the first day"],
    }
    assert AgreementForm(data={"first_day": "31/02/2025"}).errors["first_day"] == [
        "The first day in force must be a real date, like 2025-04-01"
    ]


# --- in force, to the microsecond --------------------------------------------------------


def active_grant(
    organisation: Any = None,
    *,
    dataset_id: str = "las-dispatch",
    status: str = "active",
    valid_from: datetime = START,
    valid_to: datetime = END,
    **grant: Any,
) -> Any:
    agreement = DataSharingAgreementFactory.create(
        organisation=organisation or OrganisationFactory.create(status="approved"),
        valid_from=valid_from,
        valid_to=valid_to,
        status=status,
        document_sha256="c" * 64,
    )
    return AgreementDatasetFactory.create(agreement=agreement, dataset_id=dataset_id, **grant)


def in_force(row: Any, at: datetime, dataset_id: str = "las-dispatch") -> Grant | None:
    return selectors.grant_in_force(
        organisation_id=row.agreement.organisation_id, dataset_id=dataset_id, at=at
    )


def source_of(row: Any, at: datetime) -> int | None:
    """The id of the agreement whose grant is in force, if any."""
    found = in_force(row, at)
    return found.agreement_id if found else None


def test_in_force_from_the_first_instant_to_just_before_the_end() -> None:
    row = active_grant(access_level="record", precision="lsoa", withheld_fields=["age_band"])
    assert in_force(row, START - MICROSECOND) is None
    assert in_force(row, START) == Grant(
        agreement_id=row.agreement.pk,
        agreement_reference=row.agreement.reference,
        dataset_id="las-dispatch",
        level="record",
        withheld_fields=("age_band",),
        precision="lsoa",
        valid_to=END,
    )
    assert in_force(row, END - MICROSECOND) is not None
    assert in_force(row, END) is None
    assert in_force(row, END + MICROSECOND) is None


@pytest.mark.parametrize("status", ["draft", "revoked"])
def test_drafts_and_revoked_agreements_grant_nothing(status: str) -> None:
    row = active_grant(status=status)
    assert in_force(row, START + timedelta(days=1)) is None


def test_only_the_dataset_granted_and_only_to_its_organisation() -> None:
    row = active_grant()
    other = OrganisationFactory.create(status="approved")
    at = START + timedelta(days=1)
    assert in_force(row, at, dataset_id="mps-crime") is None
    assert (
        selectors.grant_in_force(organisation_id=other.pk, dataset_id="las-dispatch", at=at) is None
    )


def test_a_naive_instant_is_refused() -> None:
    row = active_grant()
    with pytest.raises(ValueError, match="aware"):
        in_force(row, datetime(2026, 1, 1))  # noqa: DTZ001 - the naive value is the point


def test_of_two_overlapping_agreements_the_wider_grant_wins_while_both_are_in_force() -> None:
    organisation = OrganisationFactory.create(status="approved")
    later = START + timedelta(days=365)
    aggregate = active_grant(organisation, access_level="aggregate", precision="point")
    record = active_grant(
        organisation, access_level="record", precision="borough", valid_from=later
    )
    assert source_of(aggregate, START + timedelta(days=1)) == aggregate.agreement.pk
    assert source_of(aggregate, later) == record.agreement.pk
    services.revoke_agreement(agreement=record.agreement, reason="Superseded", by=OPERATOR)
    assert source_of(aggregate, later) == aggregate.agreement.pk


def test_at_equal_level_finest_precision_then_fewest_withheld() -> None:
    organisation = OrganisationFactory.create(status="approved")
    ward = active_grant(organisation, access_level="record", precision="ward")
    lsoa_two = active_grant(
        organisation, access_level="record", precision="lsoa", withheld_fields=["a", "b"]
    )
    at = START + timedelta(days=1)
    assert source_of(ward, at) == lsoa_two.agreement.pk
    lsoa_one = active_grant(
        organisation, access_level="record", precision="lsoa", withheld_fields=["a"]
    )
    assert source_of(ward, at) == lsoa_one.agreement.pk


def test_grants_in_force_lists_one_grant_per_dataset() -> None:
    organisation = OrganisationFactory.create(status="approved")
    active_grant(organisation, dataset_id="mps-crime", access_level="aggregate")
    best = active_grant(organisation, dataset_id="las-dispatch", access_level="record")
    active_grant(organisation, dataset_id="las-dispatch", access_level="aggregate")
    active_grant(organisation, dataset_id="istv", status="revoked")
    listed = selectors.grants_in_force(
        organisation_id=organisation.pk, at=START + timedelta(days=1)
    )
    assert [(g.dataset_id, g.agreement_id) for g in listed] == [
        ("las-dispatch", best.agreement.pk),
        ("mps-crime", listed[1].agreement_id),
    ]


agreement_plans = st.lists(
    st.fixed_dictionaries(
        {
            "status": st.sampled_from(["active", "active", "draft", "revoked"]),
            "start": st.integers(-3, 3),
            "length": st.integers(1, 6),
            "jitter": st.integers(-1, 1),
            "datasets": st.lists(
                st.sampled_from(["ds-a", "ds-b"]), unique=True, min_size=1, max_size=2
            ),
            "level": st.sampled_from(grants.LEVELS),
            "precision": st.sampled_from(grants.PRECISIONS),
            "withheld": st.lists(st.sampled_from(["age_band", "sex"]), unique=True),
        }
    ),
    min_size=1,
    max_size=4,
)


@hypothesis_settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    plans=agreement_plans,
    anchor=st.integers(0, 9),
    at_day=st.integers(-4, 9),
    at_jitter=st.integers(-1, 1),
    dataset_id=st.sampled_from(["ds-a", "ds-b"]),
)
def test_grant_in_force_never_comes_from_an_agreement_out_of_force(
    plans: list[dict[str, Any]], anchor: int, at_day: int, at_jitter: int, dataset_id: str
) -> None:
    day = timedelta(days=1)
    periods = []
    for plan in plans:
        valid_from = START + plan["start"] * day + plan["jitter"] * MICROSECOND
        periods.append((valid_from, valid_from + plan["length"] * day))
    # Often an instant a microsecond either side of (or exactly on) some agreement's start
    # or end, where off-by-one errors live; otherwise any day around them.
    boundaries = [instant for period in periods for instant in period]
    base = boundaries[anchor] if anchor < len(boundaries) else START + at_day * day
    at = base + at_jitter * MICROSECOND
    with transaction.atomic():
        organisation = OrganisationFactory.create(status="approved")
        expected: list[Grant] = []
        for plan, (valid_from, valid_to) in zip(plans, periods, strict=True):
            agreement = DataSharingAgreementFactory.create(
                organisation=organisation,
                status=plan["status"],
                valid_from=valid_from,
                valid_to=valid_to,
                document_sha256="d" * 64,
            )
            for dataset in plan["datasets"]:
                row = AgreementDatasetFactory.create(
                    agreement=agreement,
                    dataset_id=dataset,
                    access_level=plan["level"],
                    precision=plan["precision"],
                    withheld_fields=plan["withheld"],
                )
                in_force_now = plan["status"] == "active" and valid_from <= at < valid_to
                if dataset == dataset_id and in_force_now:
                    expected.append(row.as_grant())
        found = selectors.grant_in_force(
            organisation_id=organisation.pk, dataset_id=dataset_id, at=at
        )
        if found is not None:
            source = DataSharingAgreement.objects.get(pk=found.agreement_id)
            assert source.organisation_id == organisation.pk
            assert source.status == "active"
            assert source.valid_from <= at < source.valid_to
            assert found.dataset_id == dataset_id
        assert found == grants.choose(expected)
        event("a grant in force" if found else "no grant in force")
        transaction.set_rollback(True)
