"""Spec builders for the catalogue's tests: a small valid spec as data, to break one
piece at a time, and its YAML text."""

from __future__ import annotations

import copy
from typing import Any

import yaml


def minimal_spec(dataset_id: str = "test-crime") -> dict[str, Any]:
    """A small valid record-level spec touching every section."""
    return copy.deepcopy(
        {
            "id": dataset_id,
            "title": "Test crime",
            "provider": "Test Police",
            "description": "Synthetic crimes for tests.",
            "update_frequency": "monthly",
            "kind": "record",
            "coverage_field": "month",
            "fields": [
                {
                    "name": "crime_reference",
                    "type": "string",
                    "role": "identifier",
                    "pseudonymise": "hmac_token",
                    "required": True,
                    "description": "The crime reference.",
                },
                {
                    "name": "month",
                    "type": "month",
                    "role": "time",
                    "required": True,
                    "description": "Month recorded.",
                },
                {
                    "name": "crime_type",
                    "type": "category",
                    "role": "category",
                    "codes": {"named": "crime_type"},
                    "description": "Crime type.",
                },
                {
                    "name": "age",
                    "type": "integer",
                    "role": "personal_characteristic",
                    "generalise": {"method": "bands", "edges": [0, 18, 25, 65]},
                    "description": "Victim age.",
                },
                {
                    "name": "easting",
                    "type": "integer",
                    "role": "geography",
                    "description": "Easting.",
                },
                {
                    "name": "northing",
                    "type": "integer",
                    "role": "geography",
                    "description": "Northing.",
                },
                {
                    "name": "lsoa_code",
                    "type": "string",
                    "role": "geography",
                    "description": "LSOA.",
                },
                {
                    "name": "borough_code",
                    "type": "string",
                    "role": "geography",
                    "description": "Borough.",
                },
            ],
            "code_lists": {
                "crime_type": {
                    "description": "Crime types.",
                    "values": [
                        {"code": "burglary", "label": "Burglary"},
                        {"code": "robbery", "label": "Robbery"},
                    ],
                }
            },
            "location": {
                "crs": "bng",
                "x": "easting",
                "y": "northing",
                "suppression": {"method": "snap_grid", "metres": 100},
            },
            "geography": {
                "source": "coordinates",
                "outputs": {"lsoa": "lsoa_code", "borough": "borough_code"},
            },
            "disclosure": {"method": "threshold", "k": 8, "rounding_base": 5},
            "layouts": [
                {
                    "name": "extract",
                    "description": "The test extract.",
                    "columns": {
                        "crime_reference": "Crime Ref",
                        "month": "Month",
                        "crime_type": ["Crime type", "Crime Type"],
                        "age": "Age",
                        "easting": "Easting",
                        "northing": "Northing",
                    },
                    "date_formats": {"month": "%Y-%m"},
                }
            ],
        }
    )


def as_yaml(spec: dict[str, Any]) -> str:
    return yaml.safe_dump(spec, sort_keys=False, allow_unicode=True)
