"""The platform administrator's pages for organisations and agreements, under /platform."""

from django.urls import path

from safestats.organisations.views import agreements, organisations, overview

app_name = "organisations"

urlpatterns = [
    path("platform", overview.overview, name="overview"),
    path("platform/organisations", organisations.organisation_list, name="organisation_list"),
    path("platform/organisations/new", organisations.register, name="register"),
    path(
        "platform/organisations/<int:organisation_id>",
        organisations.organisation,
        name="organisation",
    ),
    path(
        "platform/organisations/<int:organisation_id>/domains/new",
        organisations.add_domain,
        name="add_domain",
    ),
    path(
        "platform/organisations/<int:organisation_id>/domains/remove",
        organisations.remove_domain,
        name="remove_domain",
    ),
    path(
        "platform/organisations/<int:organisation_id>/status",
        organisations.change_status,
        name="change_status",
    ),
    path(
        "platform/organisations/<int:organisation_id>/checklist/<int:response_id>",
        organisations.review_checklist,
        name="review_checklist",
    ),
    path(
        "platform/organisations/<int:organisation_id>/agreements/new",
        agreements.create,
        name="create_agreement",
    ),
    path("platform/agreements", agreements.agreement_list, name="agreement_list"),
    path("platform/agreements/<int:agreement_id>", agreements.agreement, name="agreement"),
    path(
        "platform/agreements/<int:agreement_id>/document",
        agreements.download_document,
        name="document",
    ),
    path(
        "platform/agreements/<int:agreement_id>/document/upload",
        agreements.upload_document,
        name="upload_document",
    ),
    path("platform/agreements/<int:agreement_id>/grants/new", agreements.grant, name="add_grant"),
    path(
        "platform/agreements/<int:agreement_id>/grants/<str:dataset_id>/change",
        agreements.grant,
        name="change_grant",
    ),
    path(
        "platform/agreements/<int:agreement_id>/grants/<str:dataset_id>/remove",
        agreements.remove_grant,
        name="remove_grant",
    ),
    path("platform/agreements/<int:agreement_id>/activate", agreements.activate, name="activate"),
    path("platform/agreements/<int:agreement_id>/revoke", agreements.revoke, name="revoke"),
]
