from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "safestats.access"
    label = "access"
    verbose_name = "Access policy"
