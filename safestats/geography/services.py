"""Loading a folder of ONS geography files into the reference tables: the one write of the
geography app. A load is all or nothing (one transaction), leaves the table rows of areas
that did not change untouched, and is audited as ``geography.loaded``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import transaction
from django.db.models import Model

from safestats.audit.services import record
from safestats.geography import codes, files
from safestats.geography.models import Area, Borough, GeographyFile, Lsoa, Msoa, Ward

BATCH = 500


@dataclass(frozen=True)
class LoadResult:
    folder: Path
    changed: bool
    counts: dict[str, int]  # areas per level and vintage in the folder
    created: int
    updated: int
    deleted: int
    files: tuple[files.FileDigest, ...]


def ensure_boroughs() -> None:
    """The 33 boroughs exist (the migration seeds them; this restores any removed)."""
    present = set(Borough.objects.values_list("code", flat=True))
    Borough.objects.bulk_create(
        Borough(code=code, name=name)
        for code, name in codes.BOROUGHS.items()
        if code not in present
    )


def load_folder(folder: str | Path, *, by: Any) -> LoadResult:
    """Load every file of ``folder`` (see :data:`files.FILES`), replacing what was loaded.

    Re-loading files identical to the last load changes nothing. Otherwise every file is
    read and checked before anything is written, then all levels are brought in line in one
    transaction. Raises :class:`files.GeographyFileError`.
    """
    path = files.folder_path(folder)
    manifest = {item.name: item.sha256 for item in files.digests(path)}
    loaded = dict(GeographyFile.objects.values_list("name", "sha256"))
    if loaded == manifest:
        return LoadResult(
            folder=path,
            changed=False,
            counts=_stored_counts(),
            created=0,
            updated=0,
            deleted=0,
            files=tuple(
                files.FileDigest(f.name, f.sha256, f.size) for f in GeographyFile.objects.all()
            ),
        )
    contents = files.read_folder(path)
    with transaction.atomic():
        ensure_boroughs()
        tally = _Tally()
        boroughs = {b.code: b for b in Borough.objects.all()}
        for borough_record in contents.boroughs:
            borough = boroughs[borough_record.code]
            if _apply_shape(borough, borough_record.shape):
                borough.save()
                tally.updated += 1
        wards = _sync(Ward, contents.wards, boroughs, tally)
        msoas = _sync(Msoa, contents.msoas, boroughs, tally)
        _sync(Lsoa, contents.lsoas, boroughs, tally, msoas=msoas, wards=wards)
        # Children first: an area no longer in the folder goes after whatever pointed at it.
        for model, records in (
            (Lsoa, contents.lsoas),
            (Msoa, contents.msoas),
            (Ward, contents.wards),
        ):
            tally.deleted += _delete_absent(model, records)
        GeographyFile.objects.all().delete()
        GeographyFile.objects.bulk_create(
            GeographyFile(name=item.name, sha256=item.sha256, size=item.size)
            for item in contents.files
        )
        counts = contents.counts()
        record(
            "geography.loaded",
            actor=by,
            target_type="geography.folder",
            target_id=str(path)[:200],
            payload={
                "counts": counts,
                "files": {item.name: item.sha256 for item in contents.files},
                "created": tally.created,
                "updated": tally.updated,
                "deleted": tally.deleted,
            },
        )
    return LoadResult(
        folder=path,
        changed=True,
        counts=counts,
        created=tally.created,
        updated=tally.updated,
        deleted=tally.deleted,
        files=tuple(contents.files),
    )


@dataclass
class _Tally:
    created: int = 0
    updated: int = 0
    deleted: int = 0


def _apply_shape(area: Area, shape: files.Shape | None) -> bool:
    """Copy a boundary onto a row; True when anything changed."""
    values: dict[str, Any] = dict.fromkeys(Area.SHAPE_FIELDS)
    if shape is not None:
        values = {
            "boundary": shape.wkb,
            "centroid_lon": shape.centroid_lon,
            "centroid_lat": shape.centroid_lat,
            "easting": shape.easting,
            "northing": shape.northing,
            "min_lon": shape.min_lon,
            "min_lat": shape.min_lat,
            "max_lon": shape.max_lon,
            "max_lat": shape.max_lat,
        }
    changed = False
    for name, value in values.items():
        current = getattr(area, name)
        if isinstance(current, memoryview):  # PostgreSQL returns bytea as a memoryview
            current = bytes(current)
        if current != value:
            setattr(area, name, value)
            changed = True
    return changed


def _sync(
    model: type[Ward] | type[Msoa] | type[Lsoa],
    records: Sequence[files.AreaRecord],
    boroughs: dict[str, Borough],
    tally: _Tally,
    *,
    msoas: dict[tuple[str, str], Model] | None = None,
    wards: dict[tuple[str, str], Model] | None = None,
) -> dict[tuple[str, str], Model]:
    """Create and update ``model``'s rows to match ``records``; return all of them by
    (vintage, code)."""
    existing: dict[tuple[str, str], Any] = {
        (row.vintage, row.code): row for row in model.objects.all()
    }
    to_create: list[Any] = []
    to_update: list[Any] = []
    for area in records:
        row = existing.get((area.vintage, area.code))
        new = row is None
        if row is None:
            row = model(code=area.code, vintage=area.vintage)
        changed = _apply_shape(row, area.shape)
        wanted: dict[str, Any] = {"name": area.name, "borough_id": boroughs[area.borough].pk}
        if model is Lsoa:
            if msoas is None or wards is None:
                raise TypeError("LSOAs are synced after their MSOAs and wards")
            wanted["msoa_id"] = msoas[(area.vintage, area.msoa or "")].pk
            ward_vintage = codes.LSOA_WARD_VINTAGE[area.vintage]
            ward = wards.get((ward_vintage, area.ward or ""))
            wanted["ward_id"] = ward.pk if ward is not None else None
        for name, value in wanted.items():
            if getattr(row, name) != value:
                setattr(row, name, value)
                changed = True
        if new:
            to_create.append(row)
        elif changed:
            to_update.append(row)
    model.objects.bulk_create(to_create, batch_size=BATCH)
    fields = ["name", "borough", *Area.SHAPE_FIELDS]
    if model is Lsoa:
        fields += ["msoa", "ward"]
    if to_update:
        model.objects.bulk_update(to_update, fields, batch_size=BATCH)
    tally.created += len(to_create)
    tally.updated += len(to_update)
    # bulk_create sets primary keys on PostgreSQL but not always on SQLite: read back.
    return {(row.vintage, row.code): row for row in model.objects.all()}


def _delete_absent(
    model: type[Ward] | type[Msoa] | type[Lsoa], records: Iterable[files.AreaRecord]
) -> int:
    wanted = {(area.vintage, area.code) for area in records}
    stale = [
        row.pk
        for row in model.objects.only("pk", "vintage", "code")
        if (row.vintage, row.code) not in wanted
    ]
    for start in range(0, len(stale), BATCH):
        model.objects.filter(pk__in=stale[start : start + BATCH]).delete()
    return len(stale)


def _stored_counts() -> dict[str, int]:
    counts: dict[str, int] = {"borough": Borough.objects.exclude(boundary=None).count()}
    for label, model in (("ward", Ward), ("msoa", Msoa), ("lsoa", Lsoa)):
        for vintage in model.objects.values_list("vintage", flat=True).distinct().order_by():
            counts[f"{label}_{vintage}"] = model.objects.filter(vintage=vintage).count()
    return counts
