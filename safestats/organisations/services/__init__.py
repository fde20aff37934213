"""Every write to organisations, checklists and agreements.

Each service takes keyword-only arguments and an explicit actor (``by=``: a user, or
``Actor.system()`` for the instance operator), runs in one transaction and writes its
``noun.verb`` audit event in that transaction. Domain rules refuse a request with an
:class:`~safestats.organisations.errors.OrganisationsError` whose message is for people.
"""

from safestats.organisations.services._actors import is_platform_administrator
from safestats.organisations.services.agreements import (
    activate_agreement,
    attach_document,
    create_agreement,
    open_agreement_document,
    remove_grant,
    revoke_agreement,
    set_grant,
    transition_agreement,
)
from safestats.organisations.services.checklists import (
    clean_answers,
    publish_checklist_version,
    review_checklist_response,
    submit_checklist_response,
)
from safestats.organisations.services.organisations import (
    add_domain,
    approve_organisation,
    create_organisation,
    reinstate_organisation,
    remove_domain,
    submit_for_review,
    suspend_organisation,
    transition_organisation,
    update_organisation,
    withdraw_organisation,
)

__all__ = [
    "activate_agreement",
    "add_domain",
    "approve_organisation",
    "attach_document",
    "clean_answers",
    "create_agreement",
    "create_organisation",
    "is_platform_administrator",
    "open_agreement_document",
    "publish_checklist_version",
    "reinstate_organisation",
    "remove_domain",
    "remove_grant",
    "review_checklist_response",
    "revoke_agreement",
    "set_grant",
    "submit_checklist_response",
    "submit_for_review",
    "suspend_organisation",
    "transition_agreement",
    "transition_organisation",
    "update_organisation",
    "withdraw_organisation",
]
