from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "safestats.accounts"
    label = "accounts"
    verbose_name = "Named users"

    def ready(self) -> None:
        from safestats.accounts import signals  # noqa: F401  (connects the receivers)
