"""The platform administrator's audit log pages, under /platform/audit."""

from django.urls import path

from safestats.audit import views

app_name = "audit"

urlpatterns = [
    path("platform/audit", views.log, name="log"),
    path("platform/audit/events/<int:seq>", views.event, name="event"),
    path("platform/audit/download", views.download, name="download"),
    path("platform/audit/verify", views.verify, name="verify"),
]
