from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "safestats.audit"
    label = "audit"
    verbose_name = "Audit log"
