"""The background task that runs an ingestion job (queued in the database by
django-tasks, run by ``safestats worker``)."""

from __future__ import annotations

from django_tasks import task

from safestats.ingest.models import IngestJob


@task()
def run_ingest_job(job_id: int) -> str:
    from safestats.ingest import pipeline

    job = IngestJob.objects.filter(pk=job_id).first()
    if job is None:
        return "missing"
    return pipeline.run(job).status
