"""Reading for ingestion: the geography lookups a job derives areas from, jobs a user may
see, and the raw files behind a job."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import QuerySet

from safestats.accounts.models import Role
from safestats.catalogue.models import Dataset
from safestats.geography import selectors as geography
from safestats.geography.models import Borough, Lsoa, Ward
from safestats.ingest.models import IngestJob
from safestats.ingest.processing import Places, name_key
from safestats.organisations.models import Organisation, OrganisationStatus


def places() -> Places:
    """London's geography as the pipeline needs it. LSOAs of 2021 come first; a 2011 code
    that 2021 no longer has keeps its borough (its 2019 ward is a different vintage, so
    the ward is left unknown rather than mixed)."""
    lsoa: dict[str, tuple[str | None, str]] = {}
    for vintage in ("2021", "2011"):
        rows = Lsoa.objects.filter(vintage=vintage).values_list(
            "code", "ward__code", "borough__code"
        )
        for code, ward_code, borough_code in rows:
            if code not in lsoa:
                lsoa[code] = (ward_code if vintage == "2021" else None, borough_code)
    wards: dict[str, str] = {}
    for vintage in ("WD25", "WD19"):
        for code, borough_code in Ward.objects.filter(vintage=vintage).values_list(
            "code", "borough__code"
        ):
            wards.setdefault(code, borough_code)
    boroughs = frozenset(Borough.objects.values_list("code", flat=True))
    names: dict[str, dict[str, str | None]] = defaultdict(dict)
    for code, name in Borough.objects.values_list("code", "name"):
        names["borough"][name_key(name)] = code
    for code, name in Ward.objects.filter(vintage="WD25").values_list("code", "name"):
        key = name_key(name)
        # A ward name used in two boroughs cannot say which ward it is.
        names["ward"][key] = None if key in names["ward"] else code
    for code, name in Lsoa.objects.filter(vintage="2021").values_list("code", "name"):
        names["lsoa"][name_key(name)] = code
    return Places(
        lsoa=lsoa,
        ward=wards,
        boroughs=boroughs,
        names={level: dict(found) for level, found in names.items()},
        engine=geography.engine("2021"),
    )


def jobs_visible_to(user: object) -> QuerySet[IngestJob]:
    """Platform administrators see every job; data providers the jobs of their own
    organisation; nobody else any."""
    jobs = IngestJob.objects.select_related("dataset", "version", "organisation")
    role = getattr(user, "role", None)
    if role == Role.PLATFORM_ADMIN:
        return jobs
    if role == Role.DATA_PROVIDER and getattr(user, "organisation_id", None):
        return jobs.filter(organisation_id=user.organisation_id)  # type: ignore[attr-defined]
    return jobs.none()


def provider_choices(dataset: Dataset) -> list[tuple[int, str]]:
    """The organisations a platform administrator may choose as providers of ``dataset``:
    every approved one, and any current provider that no longer is (so it can be
    removed), its status then named. By name."""
    current = dataset.provider_organisations.values_list("pk", flat=True)
    organisations = Organisation.objects.filter(pk__in=list(current)) | Organisation.objects.filter(
        status=OrganisationStatus.APPROVED
    )
    return [
        (
            o.pk,
            o.name
            if o.status == OrganisationStatus.APPROVED
            else f"{o.name} ({o.get_status_display().lower()})",
        )
        for o in organisations.distinct().order_by("name")
    ]
