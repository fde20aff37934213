"""London's statistical and administrative areas as reference data: boroughs, wards,
MSOAs and LSOAs with their codes, names, vintages and lookups, and their boundaries stored
compactly (WKB in WGS 84) with a centroid and bounding box, so that no spatial database
extension is needed on SQLite or PostgreSQL (ADR 0011). Boundaries may be absent: the 33
boroughs are seeded by a migration, and everything else comes from `safestats geography
load`."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class Area(models.Model):
    code = models.CharField(max_length=9)
    name = models.CharField(max_length=120)
    # Well-known binary of the boundary in WGS 84; null until boundaries are loaded.
    boundary = models.BinaryField(null=True, editable=False)
    centroid_lon = models.FloatField(null=True)
    centroid_lat = models.FloatField(null=True)
    easting = models.FloatField(null=True, help_text="BNG easting of the centroid, metres")
    northing = models.FloatField(null=True, help_text="BNG northing of the centroid, metres")
    min_lon = models.FloatField(null=True)
    min_lat = models.FloatField(null=True)
    max_lon = models.FloatField(null=True)
    max_lat = models.FloatField(null=True)

    SHAPE_FIELDS = (
        "boundary",
        "centroid_lon",
        "centroid_lat",
        "easting",
        "northing",
        "min_lon",
        "min_lat",
        "max_lon",
        "max_lat",
    )

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def has_boundary(self) -> bool:
        return self.boundary is not None


class Borough(Area):
    class Meta:
        ordering = ["code"]
        constraints = [models.UniqueConstraint(fields=["code"], name="geography_borough_code")]


class Ward(Area):
    vintage = models.CharField(max_length=4, help_text="WD19, WD25")
    borough = models.ForeignKey(Borough, on_delete=models.PROTECT, related_name="wards")

    class Meta:
        ordering = ["vintage", "code"]
        constraints = [
            models.UniqueConstraint(fields=["vintage", "code"], name="geography_ward_code")
        ]


class Msoa(Area):
    vintage = models.CharField(max_length=4, help_text="census year: 2011, 2021")
    borough = models.ForeignKey(Borough, on_delete=models.PROTECT, related_name="msoas")

    class Meta:
        ordering = ["vintage", "code"]
        verbose_name = "MSOA"
        constraints = [
            models.UniqueConstraint(fields=["vintage", "code"], name="geography_msoa_code")
        ]


class Lsoa(Area):
    vintage = models.CharField(max_length=4, help_text="census year: 2011, 2021")
    borough = models.ForeignKey(Borough, on_delete=models.PROTECT, related_name="lsoas")
    msoa = models.ForeignKey(Msoa, on_delete=models.PROTECT, related_name="lsoas")
    # The best-fit ward of the lookup paired with this census vintage (2011 -> WD19,
    # 2021 -> WD25; see codes.LSOA_WARD_VINTAGE).
    ward = models.ForeignKey(
        Ward, on_delete=models.PROTECT, null=True, blank=True, related_name="lsoas"
    )

    class Meta:
        ordering = ["vintage", "code"]
        verbose_name = "LSOA"
        constraints = [
            models.UniqueConstraint(fields=["vintage", "code"], name="geography_lsoa_code")
        ]


class GeographyFile(models.Model):
    """One file of the folder last loaded: what makes a second load of the same folder a
    no-op, and what the cached engine checks to know it is stale."""

    name = models.CharField(max_length=100, unique=True)
    sha256 = models.CharField(max_length=64)
    size = models.BigIntegerField()
    loaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} {self.sha256[:12]}"
