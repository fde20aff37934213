from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "safestats.accounts"
    label = "accounts"
    verbose_name = "Named users"
