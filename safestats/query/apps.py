from django.apps import AppConfig


class QueryConfig(AppConfig):
    name = "safestats.query"
    verbose_name = "Queries"
