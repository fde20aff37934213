from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "safestats.web"
    label = "web"
    verbose_name = "Web layout and service pages"
