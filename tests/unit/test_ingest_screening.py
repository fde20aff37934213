"""Free text screened for personal details keeps none of them, and says so without
repeating them."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from safestats.catalogue.spec import DatasetSpec
from safestats.ingest import processing
from tests.catalogue_specs import minimal_spec


def spec_with_free_text() -> DatasetSpec:
    data = minimal_spec()
    data["fields"].append(
        {
            "name": "where",
            "type": "string",
            "role": "free_text",
            "max_length": 255,
            "pid_screening": True,
            "description": "Where it happened, in words.",
        }
    )
    data["layouts"][0]["columns"]["where"] = "Where"
    return DatasetSpec.model_validate(data)


def test_emails_phones_nhs_numbers_and_postcodes_are_removed_from_screened_text() -> None:
    spec = spec_with_free_text()
    headers = ["Crime Ref", "Month", "Crime type", "Age", "Easting", "Northing", "Where"]
    plan = processing.make_plan(spec, headers)
    texts = [
        "Outside 12 High St, call 07700 900123",
        "kicked at the bus stop",
        "email jo.bloggs@example.co.uk, NHS 943 476 5919",
        "near E1 6AN station",
    ]
    count = len(texts)
    columns = [pa.array(np.arange(1, count + 1), pa.int64())]
    columns += [pa.array([f"R{i}" for i in range(count)]), pa.array(["2024-01"] * count)]
    columns += [pa.array(["burglary"] * count), pa.array(["30"] * count)]
    columns += [pa.array(["530000"] * count), pa.array(["180000"] * count), pa.array(texts)]
    batch = pa.RecordBatch.from_arrays(columns, names=["_record"] + [f"c{i}" for i in range(7)])
    outcome = processing.process(
        batch,
        plan,
        rows_of=np.arange(2, count + 2),
        places=processing.Places(),
        token_key=b"k" * 32,
        job=1,
    )
    assert outcome.records.column("where").to_pylist() == [
        "Outside 12 High St, call [removed]",
        "kicked at the bus stop",
        "email [removed], NHS [removed]",
        "near [removed] station",
    ]
    warnings = outcome.problems.filter(
        pa.compute.equal(outcome.problems.column("rule"), "personal_details_removed")
    ).to_pylist()
    assert [w["row"] for w in warnings] == [2, 4, 5]
    assert {w["value"] for w in warnings} == {"[removed]"}
    assert all(w["severity"] == "warning" for w in warnings)
