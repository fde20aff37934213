from django.apps import AppConfig


class OrganisationsConfig(AppConfig):
    name = "safestats.organisations"
    label = "organisations"
    verbose_name = "Organisations and agreements"
