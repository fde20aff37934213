"""Publish version 1 of the security audit checklist: what an organisation must show
before the platform sends it pseudonymised community-safety data.

The questions are copied here, not imported, so this migration keeps meaning what it
meant when it ran.
"""

from typing import Any

from django.db import migrations

QUESTIONS = [
    {
        "id": "data_protection_officer",
        "text": "Does your organisation have a named Data Protection Officer?",
        "guidance": "Give their name and role, and how analysts can contact them.",
    },
    {
        "id": "staff_training",
        "text": (
            "Have all staff who will use SafeStats completed data protection training in "
            "the last 12 months?"
        ),
        "guidance": "Name the course and say how completion is recorded and refreshed.",
    },
    {
        "id": "device_encryption",
        "text": "Are all devices used to reach SafeStats or hold its data fully encrypted?",
        "guidance": (
            "Include laptops, desktops and removable media. Say which encryption is used and "
            "how it is enforced."
        ),
    },
    {
        "id": "email_mfa",
        "text": "Is multi-factor authentication required for staff email accounts?",
        "guidance": "Say which factors are allowed and whether any accounts are exempt.",
    },
    {
        "id": "data_location",
        "text": (
            "Will data from SafeStats be stored only in the UK or EEA, on systems your "
            "organisation has approved for OFFICIAL-SENSITIVE information?"
        ),
        "guidance": "Name the systems, and where they are hosted if they are cloud services.",
    },
    {
        "id": "named_access",
        "text": "Will access to data from SafeStats be limited to named staff who need it?",
        "guidance": "Describe how the list of named staff is kept and reviewed.",
    },
    {
        "id": "incident_reporting",
        "text": (
            "Will you report any data security incident involving SafeStats data to the "
            "SafeStats team within 72 hours of becoming aware of it?"
        ),
        "guidance": "Describe your incident process and who reports to the SafeStats team.",
    },
    {
        "id": "retention_deletion",
        "text": (
            "Do you have a retention schedule for data from SafeStats, and a way to delete it "
            "securely when it is no longer needed?"
        ),
        "guidance": "Give the retention period and how deletion is done and recorded.",
    },
    {
        "id": "onward_sharing",
        "text": (
            "Will you make sure data from SafeStats is not shared with anyone outside your "
            "organisation unless a Data Sharing Agreement allows it?"
        ),
        "guidance": "Describe how staff are told about this and how it is checked.",
    },
    {
        "id": "dpia",
        "text": (
            "Has your organisation completed a Data Protection Impact Assessment for its use "
            "of data from SafeStats?"
        ),
        "guidance": "Give the date it was approved and who approved it.",
    },
]


def publish_first_version(apps: Any, schema_editor: Any) -> None:
    ChecklistVersion = apps.get_model("organisations", "ChecklistVersion")
    ChecklistVersion.objects.get_or_create(
        number=1, defaults={"published": True, "questions": QUESTIONS}
    )


def remove_first_version(apps: Any, schema_editor: Any) -> None:
    ChecklistVersion = apps.get_model("organisations", "ChecklistVersion")
    ChecklistVersion.objects.filter(number=1).delete()


class Migration(migrations.Migration):
    dependencies = [("organisations", "0001_initial")]

    operations = [migrations.RunPython(publish_first_version, remove_first_version)]
