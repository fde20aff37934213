from django.apps import AppConfig


class CatalogueConfig(AppConfig):
    name = "safestats.catalogue"
    label = "catalogue"
    verbose_name = "Dataset catalogue"
