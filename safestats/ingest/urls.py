"""The ingestion pages, and the platform administrator's page of a dataset's providers."""

from django.urls import path

from safestats.ingest import views

app_name = "ingest"

urlpatterns = [
    path("ingest", views.job_list, name="index"),
    path("ingest/upload", views.upload, name="upload"),
    path("ingest/jobs/<int:job_id>", views.job, name="job"),
    path("ingest/jobs/<int:job_id>/problems.csv", views.problems_csv, name="problems_csv"),
    path("ingest/jobs/<int:job_id>/quarantine.csv", views.quarantine_csv, name="quarantine_csv"),
    path(
        "platform/datasets/<slug:dataset_id>/providers",
        views.providers,
        name="providers",
    ),
]
