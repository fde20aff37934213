"""URL routes: each domain app owns its own URLs; error pages are GOV.UK-styled.
Everything under /platform is the platform administrator's console."""

from django.urls import include, path

urlpatterns = [
    path("", include("safestats.web.urls")),
    path("", include("safestats.accounts.urls")),
    path("", include("safestats.organisations.urls")),
    path("", include("safestats.audit.urls")),
    path("", include("safestats.catalogue.urls")),
    path("", include("safestats.ingest.urls")),
    path("", include("safestats.query.urls")),
]

handler400 = "safestats.web.views.bad_request"
handler403 = "safestats.web.views.permission_denied"
handler404 = "safestats.web.views.page_not_found"
handler500 = "safestats.web.views.server_error"
