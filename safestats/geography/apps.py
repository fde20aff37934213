from django.apps import AppConfig


class GeographyConfig(AppConfig):
    name = "safestats.geography"
    label = "geography"
    verbose_name = "Geography"
