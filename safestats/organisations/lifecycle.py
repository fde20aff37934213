"""Lifecycles as data: the steps an organisation and an agreement may take between
states, the audit event each step writes and what each step needs.

Plain Python (no Django), so the tables can be read, tested and shown on a page as they
are. A step that is not in a table does not exist; services ask :meth:`Lifecycle.step`
and never compare states themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from safestats.organisations.errors import TransitionNotAllowed


@dataclass(frozen=True)
class Transition:
    source: str
    target: str
    event: str
    reason_required: bool = False
    # How messages name the step, when not by its target ("reinstated", not "approved").
    verb: str = ""
    # Organisations: approval needs a signed-off checklist for the current version.
    needs_signed_off_checklist: bool = False
    # Agreements: activation needs the signed document on file.
    needs_signed_document: bool = False


@dataclass(frozen=True)
class Lifecycle:
    noun: str  # "organisation", as in "An organisation that is withdrawn ..."
    states: Mapping[str, str]  # state -> words: "under_review" -> "under review"
    verbs: Mapping[str, str]  # target state -> past participle: "approved"
    transitions: tuple[Transition, ...]

    def verb(self, transition: Transition) -> str:
        return transition.verb or self.verbs[transition.target]

    def targets_from(self, source: str) -> list[Transition]:
        return [t for t in self.transitions if t.source == source]

    def step(self, source: str, target: str) -> Transition:
        """The transition from ``source`` to ``target``, or TransitionNotAllowed in words."""
        for transition in self.transitions:
            if transition.source == source and transition.target == target:
                return transition
        if target not in self.states:
            raise TransitionNotAllowed(f"There is no {self.noun} status called {target!r}.")
        if source == target:
            raise TransitionNotAllowed(f"The {self.noun} is already {self.states[source]}.")
        raise TransitionNotAllowed(
            f"An {self.noun} that is {self.states[source]} cannot be {self.verbs[target]}."
        )


APPLIED = "applied"
UNDER_REVIEW = "under_review"
APPROVED = "approved"
SUSPENDED = "suspended"
WITHDRAWN = "withdrawn"

ORGANISATION = Lifecycle(
    noun="organisation",
    states={
        APPLIED: "applied",
        UNDER_REVIEW: "under review",
        APPROVED: "approved",
        SUSPENDED: "suspended",
        WITHDRAWN: "withdrawn",
    },
    verbs={
        APPLIED: "returned to applied",
        UNDER_REVIEW: "submitted for review",
        APPROVED: "approved",
        SUSPENDED: "suspended",
        WITHDRAWN: "withdrawn",
    },
    transitions=(
        Transition(APPLIED, UNDER_REVIEW, "organisation.submitted_for_review"),
        Transition(
            UNDER_REVIEW, APPROVED, "organisation.approved", needs_signed_off_checklist=True
        ),
        Transition(APPROVED, SUSPENDED, "organisation.suspended", reason_required=True),
        # Reinstatement is an approval too: "no approval without" a signed-off checklist for
        # the version published now, which may be newer than the one first signed off.
        Transition(
            SUSPENDED,
            APPROVED,
            "organisation.reinstated",
            verb="reinstated",
            needs_signed_off_checklist=True,
        ),
        Transition(APPLIED, WITHDRAWN, "organisation.withdrawn", reason_required=True),
        Transition(UNDER_REVIEW, WITHDRAWN, "organisation.withdrawn", reason_required=True),
        Transition(APPROVED, WITHDRAWN, "organisation.withdrawn", reason_required=True),
        Transition(SUSPENDED, WITHDRAWN, "organisation.withdrawn", reason_required=True),
    ),
)

DRAFT = "draft"
ACTIVE = "active"
REVOKED = "revoked"

AGREEMENT = Lifecycle(
    noun="agreement",
    states={DRAFT: "a draft", ACTIVE: "active", REVOKED: "revoked"},
    verbs={DRAFT: "returned to draft", ACTIVE: "activated", REVOKED: "revoked"},
    transitions=(
        Transition(DRAFT, ACTIVE, "agreement.activated", needs_signed_document=True),
        Transition(ACTIVE, REVOKED, "agreement.revoked", reason_required=True),
        # A draft that will never be signed is revoked too, so its reference stays taken.
        Transition(DRAFT, REVOKED, "agreement.revoked", reason_required=True),
    ),
)
