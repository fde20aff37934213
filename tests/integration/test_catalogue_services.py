"""The catalogue's services and commands on the database: syncing the spec files (once,
then as no-ops), spec history, draft versions, and publishing and rolling back, each
switching the current version in one transaction with its audit event."""

from __future__ import annotations

import json
import shutil
from datetime import date
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from safestats.audit.models import AuditEvent
from safestats.audit.services import Actor
from safestats.catalogue import services
from safestats.catalogue.errors import CatalogueError, DatasetExists, StepNotAllowed
from safestats.catalogue.loading import SPECS_DIR, SpecError
from safestats.catalogue.models import Dataset, DatasetSpecVersion, DatasetVersion
from safestats.catalogue.services import (
    add_dataset,
    add_draft_version,
    publish_version,
    rollback_to,
    sync_specs,
)
from tests.catalogue_specs import as_yaml, minimal_spec

pytestmark = pytest.mark.django_db
OPERATOR = Actor.system()


def events(name: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(event=name).order_by("seq"))


def test_sync_loads_every_shipped_spec_once_and_then_does_nothing() -> None:
    first = sync_specs(by=OPERATOR)
    assert len(first.created) == 13 and first.problems == []
    assert Dataset.objects.count() == 13
    assert len(events("dataset.created")) == 13
    police = Dataset.objects.get(pk="police-uk-street")
    assert (police.spec_source, police.spec_path, police.spec_version) == (
        "file",
        "police-uk-street.yaml",
        1,
    )
    assert police.parsed_spec().id == "police-uk-street"
    audited = AuditEvent.objects.count()

    again = sync_specs(by=OPERATOR)
    assert (again.created, again.changed, len(again.unchanged)) == ([], [], 13)
    assert AuditEvent.objects.count() == audited
    assert DatasetSpecVersion.objects.count() == 13


def test_a_changed_file_is_a_new_spec_version_with_old_and_new_hash(tmp_path: Path) -> None:
    shutil.copy(SPECS_DIR / "police-uk-street.yaml", tmp_path)
    sync_specs(by=OPERATOR, directory=tmp_path)
    before = Dataset.objects.get(pk="police-uk-street").spec_hash
    path = tmp_path / "police-uk-street.yaml"
    path.write_text(
        path.read_text().replace("update_frequency: monthly", "update_frequency: weekly")
    )

    result = sync_specs(by=OPERATOR, directory=tmp_path)

    assert result.changed == ["police-uk-street"]
    dataset = Dataset.objects.get(pk="police-uk-street")
    assert dataset.spec_version == 2 and dataset.spec["update_frequency"] == "weekly"
    assert [v.number for v in dataset.spec_versions.all()] == [2, 1]
    (event,) = events("dataset.spec_changed")
    assert event.payload["old_hash"] == before
    assert event.payload["new_hash"] == dataset.spec_hash != before
    assert (event.target_type, event.target_id) == ("catalogue.dataset", "police-uk-street")


def test_sync_reports_a_bad_file_and_loads_the_others(tmp_path: Path) -> None:
    shutil.copy(SPECS_DIR / "colp-crime.yaml", tmp_path)
    (tmp_path / "broken.yaml").write_text("id: broken\ntitle: [\n")
    result = sync_specs(by=OPERATOR, directory=tmp_path)
    assert result.created == ["colp-crime"]
    assert [str(p) for p in result.problems] == [
        "broken.yaml:3: this is not valid YAML: expected the node content, but found '<stream end>'"
    ]


def test_sync_never_replaces_a_dataset_added_through_the_pages(tmp_path: Path) -> None:
    add_dataset(text=as_yaml(minimal_spec("colp-crime")), by=OPERATOR)
    shutil.copy(SPECS_DIR / "colp-crime.yaml", tmp_path)
    result = sync_specs(by=OPERATOR, directory=tmp_path)
    assert result.created == result.changed == []
    assert str(result.problems[0]) == (
        "colp-crime.yaml: id: dataset colp-crime was added by an administrator; the file "
        "does not replace it"
    )
    assert Dataset.objects.get(pk="colp-crime").spec_source == "ui"


def test_adding_a_dataset_from_text() -> None:
    text = as_yaml(minimal_spec())
    dataset = add_dataset(text=text, by=OPERATOR)
    assert (dataset.pk, dataset.spec_source, dataset.title) == ("test-crime", "ui", "Test crime")
    assert dataset.spec_versions.get().source_text == text
    (event,) = events("dataset.created")
    assert event.payload["source"] == "ui"
    with pytest.raises(DatasetExists, match="already a dataset with the id test-crime"):
        add_dataset(text=text, by=OPERATOR)
    with pytest.raises(SpecError):
        add_dataset(text="id: x\n", by=OPERATOR)
    with pytest.raises(CatalogueError, match="'new' cannot be a dataset id"):
        add_dataset(text=as_yaml(minimal_spec("new")), by=OPERATOR)
    assert len(events("dataset.created")) == 1


@pytest.fixture
def dataset() -> Dataset:
    return add_dataset(text=as_yaml(minimal_spec()), by=OPERATOR)


def draft(dataset: Dataset, rows: int = 10, month: int = 1) -> DatasetVersion:
    return add_draft_version(
        dataset=dataset,
        row_count=rows,
        coverage_from=date(2025, 1, 1),
        coverage_to=date(2025, month, 1),
        parquet_path=f"test-crime/v{rows}",
        manifest_sha256="a" * 64,
        by=OPERATOR,
    )


def test_draft_versions_are_numbered_in_turn_under_the_current_spec(dataset: Dataset) -> None:
    assert [draft(dataset, rows).number for rows in (1, 2, 3)] == [1, 2, 3]
    version = DatasetVersion.objects.get(dataset=dataset, number=3)
    assert (version.status, version.spec_version) == ("draft", 1)
    dataset.refresh_from_db()
    assert dataset.current_version is None
    assert len(events("dataset.version_added")) == 3


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"parquet_path": "/srv/data/x"}, "relative to the data store"),
        ({"parquet_path": "../other/x"}, "relative to the data store"),
        ({"manifest_sha256": "XYZ"}, "64 lower-case hex digits"),
        ({"coverage_from": date(2025, 1, 15)}, "give the first day of it"),
        ({"coverage_from": date(2025, 3, 1)}, "Coverage must start before it ends"),
        ({"row_count": -1}, "negative number of rows"),
    ],
)
def test_a_draft_version_is_checked(dataset: Dataset, changes: dict, message: str) -> None:
    arguments = {
        "row_count": 1,
        "coverage_from": date(2025, 1, 1),
        "coverage_to": date(2025, 2, 1),
        "parquet_path": "test-crime/v1",
        "manifest_sha256": "b" * 64,
    } | changes
    with pytest.raises(CatalogueError, match=message):
        add_draft_version(dataset=dataset, by=OPERATOR, **arguments)
    assert not DatasetVersion.objects.exists()


def test_publishing_switches_the_current_version_and_is_audited(dataset: Dataset) -> None:
    one, two = draft(dataset, 10), draft(dataset, 20, month=2)
    publish_version(dataset=dataset, version=one, by=OPERATOR)
    publish_version(dataset=dataset, version=two, by=OPERATOR)
    dataset.refresh_from_db()
    assert dataset.current_version == two
    assert DatasetVersion.objects.get(pk=one.pk).status == "published"
    published = events("dataset.version_published")
    assert [(e.payload["version"], e.payload["previous_version"]) for e in published] == [
        (1, None),
        (2, 1),
    ]
    assert published[1].payload["rows"] == 20
    with pytest.raises(StepNotAllowed, match="Version 2 of test-crime is published"):
        publish_version(dataset=dataset, version=two, by=OPERATOR)


def test_rolling_back_moves_the_pointer_and_marks_the_version_left(dataset: Dataset) -> None:
    one, two = draft(dataset), draft(dataset, 20)
    publish_version(dataset=dataset, version=one, by=OPERATOR)
    publish_version(dataset=dataset, version=two, by=OPERATOR)

    rollback_to(dataset=dataset, version=one, by=OPERATOR)

    dataset.refresh_from_db()
    assert dataset.current_version == one
    assert DatasetVersion.objects.get(pk=two.pk).status == "rolled_back"
    (event,) = events("dataset.rolled_back")
    assert (event.payload["version"], event.payload["rolled_back_version"]) == (1, 2)
    with pytest.raises(StepNotAllowed, match="is rolled back, so it cannot be published"):
        publish_version(dataset=dataset, version=two, by=OPERATOR)
    with pytest.raises(StepNotAllowed, match="not older than the current version"):
        rollback_to(dataset=dataset, version=one, by=OPERATOR)


def test_rollback_needs_an_earlier_published_version(dataset: Dataset) -> None:
    one = draft(dataset)
    with pytest.raises(StepNotAllowed, match="has no published version"):
        rollback_to(dataset=dataset, version=one, by=OPERATOR)
    two = draft(dataset)
    publish_version(dataset=dataset, version=two, by=OPERATOR)
    with pytest.raises(StepNotAllowed, match="is draft, so it cannot be rolled back to"):
        rollback_to(dataset=dataset, version=one, by=OPERATOR)


def test_a_version_of_another_dataset_is_refused(dataset: Dataset) -> None:
    other = add_dataset(text=as_yaml(minimal_spec("other-crime")), by=OPERATOR)
    theirs = draft(other)
    with pytest.raises(CatalogueError, match="does not belong to test-crime"):
        publish_version(dataset=dataset, version=theirs, by=OPERATOR)


def test_publishing_and_rolling_back_are_all_or_nothing(
    dataset: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    one, two, three = draft(dataset), draft(dataset), draft(dataset)
    publish_version(dataset=dataset, version=one, by=OPERATOR)
    publish_version(dataset=dataset, version=two, by=OPERATOR)

    def refuse(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the audit log is unavailable")

    monkeypatch.setattr(services, "record", refuse)
    with pytest.raises(RuntimeError):
        publish_version(dataset=dataset, version=three, by=OPERATOR)
    with pytest.raises(RuntimeError):
        rollback_to(dataset=dataset, version=one, by=OPERATOR)
    dataset.refresh_from_db()
    assert dataset.current_version == two
    statuses = dict(DatasetVersion.objects.values_list("number", "status"))
    assert statuses == {1: "published", 2: "published", 3: "draft"}
    assert DatasetVersion.objects.get(pk=three.pk).published_at is None


def test_the_datasets_command_lists_versions_or_no_data_yet(dataset: Dataset) -> None:
    out = StringIO()
    call_command("datasets", stdout=out)
    assert out.getvalue() == "test-crime  spec v1 (ui)  no data yet\n"
    version = draft(dataset, 1234, month=6)
    publish_version(dataset=dataset, version=version, by=OPERATOR)
    out = StringIO()
    call_command("datasets", stdout=out)
    assert out.getvalue() == (
        "test-crime  spec v1 (ui)  version 1, 1234 rows, 2025-01 to 2025-06\n"
    )


def test_the_catalogue_command_syncs_checks_and_prints_the_schema(tmp_path: Path) -> None:
    out = StringIO()
    call_command("catalogue", "sync", stdout=out)
    assert out.getvalue().startswith("Added (13): colp-crime, istv-ed-attendances,")
    out = StringIO()
    call_command("catalogue", "sync", stdout=out)
    assert out.getvalue().startswith("Unchanged (13): ")

    out = StringIO()
    call_command("catalogue", "schema", stdout=out)
    schema = json.loads(out.getvalue())
    assert schema["title"] == "SafeStats dataset specification"
    assert "police-uk-street" not in out.getvalue()

    bad = tmp_path / "bad.yaml"
    bad.write_text(as_yaml(minimal_spec("bad")).replace("kind: record", "kind: rows"))
    err = StringIO()
    with pytest.raises(CommandError, match="Some spec files have problems"):
        call_command("catalogue", "check", str(bad), stderr=err, stdout=StringIO())
    assert "bad.yaml:6: kind: Input should be 'record' or 'aggregated'" in err.getvalue()
