"""Every URL, as every role: the answer each gets is written down here, and a URL with no
written expectation fails the test — so a new page cannot ship without deciding who may
reach it.

Statuses: 200 shown, 302 sent elsewhere (to sign in or the next sign-in step), 403 not
permitted, 404 not found (another organisation's records), 405 wrong method.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from safestats.accounts.models import Role, User
from safestats.audit.services import Actor
from safestats.catalogue.services import add_dataset
from safestats.ingest.models import IngestJob, JobStatus
from safestats.query.models import SavedQuery
from tests.catalogue_specs import as_yaml, minimal_spec
from tests.signin import PASSWORD, enrol, make_member, make_organisation, sign_in

pytestmark = pytest.mark.django_db

ROLES = (
    "anonymous",
    "mfa_pending",
    "analyst",
    "data_provider",
    "organisation_admin",
    "platform_admin",
)
EVERYONE_200 = dict.fromkeys(ROLES, 200)
NOT_SIGNED_IN = {"anonymous": 302, "mfa_pending": 302}
SIGNED_IN_ONLY = NOT_SIGNED_IN | dict.fromkeys(ROLES[2:], 200)
SIGNED_IN_POST_ONLY = NOT_SIGNED_IN | dict.fromkeys(ROLES[2:], 405)
FULLY_SIGNED_IN_SENT_ON = dict.fromkeys(ROLES[2:], 302)


def only(*roles: str, others: int = 403) -> dict[str, int]:
    expected = {"anonymous": 302, "mfa_pending": 302}
    for role in ROLES[2:]:
        expected[role] = 200 if role in roles else others
    return expected


# URL name -> (path with placeholders filled, expected GET status per role)
EXPECTED: dict[str, tuple[str, dict[str, int]]] = {
    "web:start": ("/", EVERYONE_200),
    "web:accessibility": ("/accessibility", EVERYONE_200),
    "web:cookies": ("/cookies", EVERYONE_200),
    "web:privacy": ("/privacy", EVERYONE_200),
    "web:healthz": ("/healthz", EVERYONE_200),
    "accounts:register": ("/register", EVERYONE_200),
    "accounts:sign_in": ("/sign-in", {"anonymous": 200, "mfa_pending": 200} | FULLY_SIGNED_IN_SENT_ON),
    "accounts:mfa_challenge": ("/sign-in/security-code", {"anonymous": 302, "mfa_pending": 200} | FULLY_SIGNED_IN_SENT_ON),
    "accounts:mfa_setup": ("/sign-in/set-up-authenticator", dict.fromkeys(ROLES, 302)),
    "accounts:recovery_codes": ("/sign-in/recovery-codes", dict.fromkeys(ROLES, 302)),
    "accounts:conditions": ("/conditions-of-use", SIGNED_IN_ONLY),
    "accounts:sign_out": ("/sign-out", dict.fromkeys(ROLES, 405)),
    "accounts:signed_out": ("/signed-out", EVERYONE_200),
    "accounts:your_account": ("/account", SIGNED_IN_ONLY),
    "accounts:sign_out_everywhere": ("/account/sign-out-everywhere", SIGNED_IN_POST_ONLY),
    "accounts:new_recovery_codes": ("/account/recovery-codes", SIGNED_IN_POST_ONLY),
    "accounts:console": ("/organisation", only(Role.ORGANISATION_ADMIN)),
    "accounts:invite": ("/organisation/invite", only(Role.ORGANISATION_ADMIN)),
    "accounts:member_action": (
        "/organisation/members/{colleague}/authorise",
        only(Role.ORGANISATION_ADMIN) | {"organisation_admin": 405},
    ),
    "accounts:member_reason": ("/organisation/members/{colleague}/suspend/reason", only(Role.ORGANISATION_ADMIN)),
    "accounts:password_reset": ("/password-reset", EVERYONE_200),
    "accounts:password_reset_sent": ("/password-reset/sent", EVERYONE_200),
    "accounts:password_reset_confirm": ("/password-reset/MQ/not-a-token", EVERYONE_200),
    "accounts:password_reset_complete": ("/password-reset/complete", EVERYONE_200),
    "catalogue:index": ("/catalogue", SIGNED_IN_ONLY),
    "catalogue:new": ("/catalogue/new", only(Role.PLATFORM_ADMIN)),
    "catalogue:dataset": ("/catalogue/{dataset}", SIGNED_IN_ONLY),
    # The dataset has no version 1: a platform administrator is told so, everyone else refused.
    "catalogue:rollback": ("/catalogue/{dataset}/rollback/1", only(Role.PLATFORM_ADMIN) | {"platform_admin": 404}),
    "ingest:index": ("/ingest", only(Role.DATA_PROVIDER, Role.PLATFORM_ADMIN)),
    "ingest:upload": ("/ingest/upload", only(Role.DATA_PROVIDER, Role.PLATFORM_ADMIN)),
    # A job of the users' own organisation: hidden (404) from anyone who may not see it.
    "ingest:job": ("/ingest/jobs/{job}", only(Role.DATA_PROVIDER, Role.PLATFORM_ADMIN, others=404)),
    "ingest:problems_csv": ("/ingest/jobs/{job}/problems.csv", only(Role.DATA_PROVIDER, Role.PLATFORM_ADMIN, others=404)),
    "ingest:quarantine_csv": ("/ingest/jobs/{job}/quarantine.csv", only(Role.DATA_PROVIDER, Role.PLATFORM_ADMIN, others=404)),
    # Camden has no agreement for the dataset: the access policy refuses every signed-in
    # role (403, with its reason); the saved query is the analyst's own and private.
    "query:index": ("/query", SIGNED_IN_ONLY),
    "query:builder": ("/query/{dataset}", only(others=403)),
    "query:count": ("/query/{dataset}/count?run=1", only(others=403)),
    "query:download": ("/query/{dataset}/download.csv?run=1", only(others=403)),
    "query:extract": ("/query/{dataset}/extract.csv?run=1", only(others=403)),
    "query:save": ("/query/{dataset}/save?run=1", only(others=403)),
    "query:saved_list": ("/query/saved", SIGNED_IN_ONLY),
    "query:saved_query": ("/query/saved/{saved}", only(others=404) | {"analyst": 403}),
    "query:saved_delete": ("/query/saved/{saved}/delete", only(Role.ANALYST, others=404)),
}  # fmt: skip


def named_routes(
    patterns: list[Any] | None = None, namespace: str = "", prefix: str = ""
) -> Iterator[tuple[str, str]]:
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from named_routes(entry.url_patterns, inner, route)
        elif isinstance(entry, URLPattern) and entry.name:
            yield f"{namespace}{entry.name}", route


def url_names() -> set[str]:
    # Everything under /platform is for platform administrators only, and
    # test_platform_access walks each such URL as every role, found by its route.
    return {name for name, route in named_routes() if not route.startswith("platform")}


def test_every_url_has_a_written_expectation() -> None:
    missing = sorted(url_names() - set(EXPECTED))
    assert missing == [], f"Add these URLs to EXPECTED with the answer each role gets: {missing}"
    stale = sorted(set(EXPECTED) - url_names())
    assert stale == [], f"These URLs no longer exist: {stale}"


@pytest.fixture
def clients() -> tuple[dict[str, Client], dict[str, Any]]:
    camden = make_organisation()
    colleague = make_member(camden, "colleague@camden.gov.uk")
    by_role: dict[str, Client] = {"anonymous": Client()}
    for role in ROLES[2:]:
        user = make_member(camden, f"{role}@camden.gov.uk", role=role)
        by_role[role] = Client()
        sign_in(by_role[role], user, enrol(user))
    pending_user = make_member(camden, "pending.mfa@camden.gov.uk")
    enrol(pending_user)
    by_role["mfa_pending"] = Client()
    by_role["mfa_pending"].post("/sign-in", {"email": pending_user.email, "password": PASSWORD})
    dataset = add_dataset(text=as_yaml(minimal_spec()), by=Actor.system())
    job = IngestJob.objects.create(
        dataset=dataset,
        organisation=camden,
        tolerance_percent=Decimal(5),
        created_by="data_provider@camden.gov.uk",
        status=JobStatus.PUBLISHED,
    )
    saved = SavedQuery.objects.create(
        owner=User.objects.get(email="analyst@camden.gov.uk"),
        organisation=camden,
        name="Mine",
        spec={"dataset": dataset.pk},
    )
    return by_role, {
        "colleague": colleague.pk,
        "dataset": dataset.pk,
        "job": job.pk,
        "saved": saved.pk,
    }


def test_each_role_gets_the_expected_answer_everywhere(
    clients: tuple[dict[str, Client], dict[str, Any]],
) -> None:
    by_role, ids = clients
    wrong = {}
    for name, (template, expected) in sorted(EXPECTED.items()):
        path = template.format(**ids)
        answers = {role: by_role[role].get(path).status_code for role in ROLES}
        if answers != expected:
            wrong[name] = {r: (answers[r], expected[r]) for r in ROLES if answers[r] != expected[r]}
    assert wrong == {}, "(got, expected) per role: " + repr(wrong)


def test_an_organisation_administrator_cannot_reach_another_organisations_member(
    clients: tuple[dict[str, Client], dict[str, Any]],
) -> None:
    by_role, _ = clients
    hackney = make_organisation("Hackney CSP", "hackney.gov.uk")
    outsider = make_member(hackney, "outsider@hackney.gov.uk", status="pending")
    admin = by_role["organisation_admin"]
    for path in (
        f"/organisation/members/{outsider.pk}/suspend/reason",
        f"/organisation/members/{outsider.pk}/decline/reason",
    ):
        assert admin.get(path).status_code == 404
        assert admin.post(path, {"reason": "x"}).status_code == 404
    for action in ("authorise", "reinstate", "reconfirm"):
        assert admin.post(f"/organisation/members/{outsider.pk}/{action}").status_code == 404
    outsider.refresh_from_db()
    assert outsider.status == "pending"
