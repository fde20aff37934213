"""Publish the first version of the Conditions of Use, so that no instance starts without
conditions for its users to accept. Platform administrators publish later versions."""

from django.db import migrations
from django.utils import timezone

TITLE = "SafeStats Conditions of Use"

BODY = """These conditions apply every time you use SafeStats. You must accept them each time you sign in.

1. You may use SafeStats data only for the prevention and reduction of crime and disorder, under sections 17 and 115 of the Crime and Disorder Act 1998, and only for the purpose your organisation's administrator authorised you for.

2. SafeStats datasets should never be used with each other or with other available data to 'match' or 'jigsaw' with the intention of identifying an individual. Taken together the data could indirectly identify people; any attempt to do so is forbidden.

3. Your account is for you alone. Do not share your password, your security codes or your recovery codes, and do not let anyone else use a session you have signed in to.

4. Store data you download only on your organisation's approved systems, share it only with people in your organisation who are entitled to see it, and delete it when you no longer need it for the authorised purpose. Your organisation is the data controller for the data you download.

5. Do not publish or share outside your organisation any figure that could identify a person. Small numbers are suppressed in SafeStats outputs; do not try to work them out.

6. Every sign-in, query and download is recorded, with your name, your organisation and what you asked for. Your organisation's administrator and the platform team review these records.

7. Tell your organisation's administrator and the platform team straight away if you think data has been lost, misused or seen by someone who should not see it.

Breaking these conditions may lead to your access, and your organisation's access, being suspended or withdrawn."""


def publish(apps, schema_editor):  # type: ignore[no-untyped-def]
    Conditions = apps.get_model("accounts", "ConditionsOfUse")
    if not Conditions.objects.exists():
        Conditions.objects.create(version=1, title=TITLE, body=BODY, published_at=timezone.now())


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_roles_sessions_conditions")]

    operations = [migrations.RunPython(publish, migrations.RunPython.noop)]
