"""``safestats datasets``: every dataset in the catalogue with its current version, rows
and coverage, for operators checking what queries will read."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from safestats.catalogue.models import Dataset


class Command(BaseCommand):
    help = "List the datasets in the catalogue with their current version, rows and coverage."

    def handle(self, *args: Any, **options: Any) -> None:
        datasets = Dataset.objects.select_related("current_version").order_by("pk")
        if not datasets:
            self.stdout.write("No datasets yet: run `safestats catalogue sync`.")
            return
        width = max(len(d.pk) for d in datasets)
        for dataset in datasets:
            current = dataset.current_version
            if current is None:
                data = "no data yet"
            else:
                first = f"{current.coverage_from:%Y-%m}" if current.coverage_from else "?"
                last = f"{current.coverage_to:%Y-%m}" if current.coverage_to else "?"
                data = f"version {current.number}, {current.row_count} rows, {first} to {last}"
            spec = f"spec v{dataset.spec_version} ({dataset.spec_source})"
            self.stdout.write(f"{dataset.pk:<{width}}  {spec}  {data}")
