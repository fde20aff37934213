"""A record-level CSV extract through the whole service, from a published version holding
hostile values: its exact bytes, the audited SHA-256 of exactly those bytes, and no
scratch file left behind, whether the extract succeeds or fails."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.conf import settings

from safestats.audit.models import AuditEvent
from safestats.audit.services import Actor
from safestats.catalogue.models import Dataset
from safestats.catalogue.services import add_draft_version, publish_version
from safestats.ingest import processing
from safestats.query import compiler, services
from safestats.query.spec import QuerySpec
from tests.ingest_helpers import catalogue, stores  # noqa: F401

pytestmark = pytest.mark.django_db

DATASET = "mps-recorded-crime"
RECORDS = [
    {
        "crime_reference": '=HYPERLINK("http://evil.example","open")',
        "recorded_date": date(2024, 1, 2),
        "committed_from": datetime(2024, 1, 1, 23, 5, 9),  # noqa: DTZ001 - wall clock
        "committed_to": None,
        "major_category": "Theft, other",
        "minor_category": "-Shoplifting",
        "offence_code": "@SUM(A1)",
        "domestic_abuse": True,
        "knife_crime": None,
        "easting": -530000,
        "northing": 180000,
        "lsoa_code": "E01004736",
        "ward_code": "+E05013806",
        "borough_code": "<b>E09000033</b>",
    },
    {
        "crime_reference": 'said "stop",\nthen ran',
        "recorded_date": date(2024, 1, 3),
        "committed_from": None,
        "committed_to": datetime(2024, 1, 3, 4, 0, 0),  # noqa: DTZ001 - wall clock
        "major_category": "\tTabbed",
        "minor_category": "",
        "offence_code": None,
        "domestic_abuse": False,
        "knife_crime": True,
        "easting": None,
        "northing": -1,
        "lsoa_code": None,
        "ward_code": "\rE05013806",
        "borough_code": "E09000033",
    },
]
EXPECTED = (
    "\ufeff"
    '"SafeStats: mps-recorded-crime version 1; query {""dataset"":""mps-recorded-crime""}; '
    'disclosure control: Record-level output as the agreement allows."\r\n'
    "crime_reference,recorded_date,committed_from,committed_to,major_category,"
    "minor_category,offence_code,domestic_abuse,knife_crime,easting,northing,lsoa_code,"
    "ward_code,borough_code\r\n"
    '"\'=HYPERLINK(""http://evil.example"",""open"")",2024-01-02,2024-01-01 23:05:09,,'
    "\"Theft, other\",'-Shoplifting,'@SUM(A1),True,,-530000,180000,E01004736,'+E05013806,"
    "<b>E09000033</b>\n"
    '"said ""stop"",\nthen ran",2024-01-03,,2024-01-03 04:00:00,\'\tTabbed,"",,False,'
    'True,,-1,,"\'\rE05013806",E09000033\n'
)


@pytest.fixture
def published(stores: Path) -> Path:  # noqa: F811
    """A published version of the dataset whose records are RECORDS, written directly."""
    catalogue()
    dataset = Dataset.objects.get(pk=DATASET)
    schema = processing.output_schema(dataset.parsed_spec())
    rows = [
        record | {"_record_key": n, "_source_row": n, "_job": 1} for n, record in enumerate(RECORDS)
    ]
    relative = f"datasets/{DATASET}/v0001-test"
    folder = Path(settings.SAFESTATS_DATA_DIR) / relative
    folder.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), folder / "part-0.parquet")
    manifest = json.dumps({"files": [{"name": "part-0.parquet"}]}).encode()
    (folder / "manifest.json").write_bytes(manifest)
    actor = Actor.system("test")
    version = add_draft_version(
        dataset=dataset,
        row_count=len(rows),
        coverage_from=date(2024, 1, 1),
        coverage_to=date(2024, 1, 1),
        parquet_path=relative,
        manifest_sha256=hashlib.sha256(manifest).hexdigest(),
        by=actor,
    )
    publish_version(dataset=dataset, version=version, by=actor)
    return Path(settings.SAFESTATS_TMP_DIR)


def test_a_csv_extract_of_hostile_values_is_exact_and_audited_with_its_hash(
    published: Path,
) -> None:
    out = io.BytesIO()
    done = services.extract(QuerySpec(dataset=DATASET), fmt="csv", out=out)
    data = out.getvalue()
    assert data.decode("utf-8") == EXPECTED
    assert done.rows == 2
    event = AuditEvent.objects.filter(event="query.extracted").latest("seq")
    assert event.payload["sha256"] == hashlib.sha256(data).hexdigest() == done.sha256
    assert event.payload["bytes"] == len(data)
    assert event.payload["rows"] == 2
    assert list(published.iterdir()) == []  # the scratch file is gone


def test_a_failed_query_leaves_no_scratch_file_and_no_audit_event(
    published: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(compiler, "csv_select", lambda columns, schema: "no_such_column")
    with pytest.raises(Exception, match="no_such_column"):
        services.extract(QuerySpec(dataset=DATASET), fmt="csv", out=io.BytesIO())
    assert list(published.iterdir()) == []
    assert not AuditEvent.objects.filter(event="query.extracted").exists()


class Broken(io.BytesIO):
    """A destination that fails once the records start arriving (a full disk)."""

    def write(self, data: bytes) -> int:  # type: ignore[override]
        if self.tell() > 0 and b"E09000033" in data:
            raise OSError(28, "No space left on device")
        return super().write(data)


def test_a_failed_write_leaves_no_scratch_file_and_no_audit_event(published: Path) -> None:
    with pytest.raises(OSError, match="No space left"):
        services.extract(QuerySpec(dataset=DATASET), fmt="csv", out=Broken())
    assert list(published.iterdir()) == []
    assert not AuditEvent.objects.filter(event="query.extracted").exists()
