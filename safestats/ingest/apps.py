from django.apps import AppConfig


class IngestConfig(AppConfig):
    name = "safestats.ingest"
    verbose_name = "Ingestion"
