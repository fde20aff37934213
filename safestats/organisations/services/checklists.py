"""Writes to the security audit checklist: publishing a version, an organisation's
answers, and a platform administrator's review (signed off or returned)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from safestats.audit.services import record
from safestats.organisations import selectors
from safestats.organisations.errors import InvalidValue, TransitionNotAllowed
from safestats.organisations.models import (
    ChecklistResponse,
    ChecklistVersion,
    Organisation,
    OrganisationStatus,
    ReviewOutcome,
)
from safestats.organisations.services._actors import (
    By,
    label,
    require_platform_administrator,
    user_or_none,
)
from safestats.organisations.validators import FIELD_NAME

YES = "yes"
NO = "no"


def _clean_questions(questions: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    cleaned: list[dict[str, str]] = []
    seen: set[str] = set()
    for position, question in enumerate(questions, start=1):
        question_id = str(question.get("id", "")).strip()
        text = str(question.get("text", "")).strip()
        if not FIELD_NAME.match(question_id) or question_id in seen:
            raise InvalidValue(
                f"Question {position} needs an id of its own in lower case with underscores, "
                f"like staff_training (got {question_id!r})."
            )
        if not text:
            raise InvalidValue(f"Question {position} ({question_id}) needs its text.")
        seen.add(question_id)
        cleaned.append(
            {"id": question_id, "text": text, "guidance": str(question.get("guidance", ""))}
        )
    if not cleaned:
        raise InvalidValue("A checklist needs at least one question.")
    return cleaned


def publish_checklist_version(
    *, questions: Sequence[Mapping[str, Any]], by: By
) -> ChecklistVersion:
    """Publish a new version of the checklist; it becomes the one approvals need."""
    require_platform_administrator(by, "publish a security audit checklist")
    cleaned = _clean_questions(questions)
    with transaction.atomic():
        highest = ChecklistVersion.objects.aggregate(highest=Max("number"))["highest"] or 0
        version = ChecklistVersion.objects.create(
            number=highest + 1, published=True, questions=cleaned
        )
        record(
            "checklist.published",
            actor=by,
            target=version,
            payload={"number": version.number, "question_ids": version.question_ids()},
        )
    return version


def clean_answers(
    version: ChecklistVersion, answers: Mapping[str, Any]
) -> dict[str, dict[str, str]]:
    """Answers as stored: every question answered yes or no, with evidence for each yes."""
    unknown = sorted(set(answers) - set(version.question_ids()))
    if unknown:
        raise InvalidValue(
            f"Version {version.number} of the checklist has no question {', '.join(unknown)}."
        )
    cleaned: dict[str, dict[str, str]] = {}
    for question in version.questions:
        given = answers.get(question["id"])
        if not isinstance(given, Mapping) or given.get("answer") not in (YES, NO):
            raise InvalidValue(
                f'Select yes or no for "{question["text"]}"', field=f"{question['id']}_answer"
            )
        evidence = str(given.get("evidence", "")).strip()
        if given["answer"] == YES and not evidence:
            raise InvalidValue(
                f'Enter the evidence for your answer to "{question["text"]}"',
                field=f"{question['id']}_evidence",
            )
        cleaned[question["id"]] = {"answer": given["answer"], "evidence": evidence}
    return cleaned


def submit_checklist_response(
    *,
    organisation: Organisation,
    answers: Mapping[str, Any],
    by: By,
    version: ChecklistVersion | None = None,
) -> ChecklistResponse:
    """Record an organisation's answers to the current published checklist (or the
    ``version`` given, which must be published) for a platform administrator to review."""
    with transaction.atomic():
        version = version or selectors.current_checklist_version()
        if version is None or not version.published:
            raise InvalidValue("There is no published security audit checklist to answer.")
        if organisation.status == OrganisationStatus.WITHDRAWN:
            raise TransitionNotAllowed(
                f"{organisation.name} has withdrawn, so it cannot answer the checklist."
            )
        pending = ChecklistResponse.objects.filter(
            organisation=organisation, version=version, outcome=""
        ).exists()
        if pending:
            raise TransitionNotAllowed(
                f"{organisation.name} already has answers to version {version.number} of the "
                "checklist waiting for review."
            )
        cleaned = clean_answers(version, answers)
        response = ChecklistResponse.objects.create(
            organisation=organisation,
            version=version,
            answers=cleaned,
            submitted_by=user_or_none(by),
            submitted_by_label=label(by),
        )
        record(
            "checklist.submitted",
            actor=by,
            target=response,
            organisation=organisation,
            payload={
                "version": version.number,
                "answered_no": [qid for qid, a in cleaned.items() if a["answer"] == NO],
            },
        )
    return response


def review_checklist_response(
    *, response: ChecklistResponse, outcome: str, note: str = "", by: By
) -> ChecklistResponse:
    """Sign off or return an organisation's answers. Only answers to the current version,
    all yes, can be signed off; returning them needs a note saying what to change."""
    require_platform_administrator(by, "review a security audit checklist")
    note = note.strip()
    with transaction.atomic():
        locked = (
            ChecklistResponse.objects.select_for_update()
            .select_related("organisation", "version")
            .get(pk=response.pk)
        )
        if outcome not in ReviewOutcome.values:
            raise InvalidValue("Choose whether to sign off the answers or return them.")
        if locked.outcome:
            raise TransitionNotAllowed(
                f"These answers were already {ReviewOutcome(locked.outcome).label.lower()}."
            )
        if outcome == ReviewOutcome.RETURNED and not note:
            raise InvalidValue(
                "Enter a note saying what the organisation needs to change.", field="note"
            )
        if outcome == ReviewOutcome.SIGNED_OFF:
            current = selectors.current_checklist_version()
            if current is None or current.pk != locked.version_id:
                raise TransitionNotAllowed(
                    f"These answers are to version {locked.version.number} of the checklist, "
                    "which is no longer the current version. Ask for answers to the current one."
                )
            answered_no = [qid for qid, a in locked.answers.items() if a.get("answer") != YES]
            if answered_no:
                raise TransitionNotAllowed(
                    'Answers of "no" cannot be signed off: '
                    f"{', '.join(answered_no)}. Return them with a note instead."
                )
        locked.outcome = outcome
        locked.review_note = note
        locked.reviewed_by = user_or_none(by)
        locked.reviewed_by_label = label(by)
        locked.reviewed_at = timezone.now()
        locked.save(
            update_fields=[
                "outcome",
                "review_note",
                "reviewed_by",
                "reviewed_by_label",
                "reviewed_at",
            ]
        )
        record(
            f"checklist.{outcome}",
            actor=by,
            target=locked,
            organisation=locked.organisation,
            payload={"version": locked.version.number, "note": note},
        )
    return locked
