"""The dataset spec: a corpus of bad specs, each refused with its path and message; YAML
read strictly; the shipped spec files; the JSON Schema; and a round trip through JSON."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from safestats.catalogue.loading import (
    SPECS_DIR,
    SpecError,
    load_spec_file,
    load_spec_files,
    parse_spec,
)
from safestats.catalogue.spec import (
    Bands,
    DatasetSpec,
    canonical,
    describe_disclosure,
    json_schema,
    spec_hash,
)
from tests.catalogue_specs import as_yaml, minimal_spec

Mutation = Callable[[dict[str, Any]], None]


def field(spec: dict[str, Any], name: str) -> dict[str, Any]:
    return next(f for f in spec["fields"] if f["name"] == name)


def problems_of(spec: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(SpecError) as caught:
        parse_spec(as_yaml(spec), source="bad.yaml")
    return [(p.path, p.message) for p in caught.value.problems]


def test_the_minimal_spec_is_valid() -> None:
    spec = parse_spec(as_yaml(minimal_spec()))
    assert spec.id == "test-crime"
    assert isinstance(spec.field("age").generalise, Bands)  # type: ignore[union-attr]


def _field_set(name: str, key: str, value: Any) -> Mutation:
    def mutate(spec: dict[str, Any]) -> None:
        field(spec, name)[key] = value

    return mutate


def _field_del(name: str, key: str) -> Mutation:
    def mutate(spec: dict[str, Any]) -> None:
        del field(spec, name)[key]

    return mutate


def _layout_set(key: str, value: Any) -> Mutation:
    def mutate(spec: dict[str, Any]) -> None:
        spec["layouts"][0][key] = value

    return mutate


def _column(name: str, header: Any) -> Mutation:
    def mutate(spec: dict[str, Any]) -> None:
        spec["layouts"][0]["columns"][name] = header

    return mutate


def _drop_column(name: str) -> Mutation:
    def mutate(spec: dict[str, Any]) -> None:
        del spec["layouts"][0]["columns"][name]

    return mutate


def _top(key: str, value: Any) -> Mutation:
    def mutate(spec: dict[str, Any]) -> None:
        spec[key] = value

    return mutate


def _drop(key: str) -> Mutation:
    def mutate(spec: dict[str, Any]) -> None:
        del spec[key]

    return mutate


def _duplicate_code(spec: dict[str, Any]) -> None:
    spec["code_lists"]["crime_type"]["values"].append({"code": "robbery", "label": "Again"})


def _inline_duplicate(spec: dict[str, Any]) -> None:
    field(spec, "crime_type")["codes"] = {
        "values": [{"code": "a", "label": "A"}, {"code": "a", "label": "B"}]
    }


def _aggregated_without_measure(spec: dict[str, Any]) -> None:
    spec["kind"] = "aggregated"


def _measure_not_a_measure(spec: dict[str, Any]) -> None:
    spec["kind"] = "aggregated"
    spec["measure"] = "age"


def _duplicate_field(spec: dict[str, Any]) -> None:
    spec["fields"].append(dict(field(spec, "easting")))


BAD_SPECS: list[tuple[str, Mutation, list[tuple[str, str]]]] = [
    (
        "unknown top-level key",
        _top("colour", "red"),
        [("colour", "is not a known key here (check its spelling)")],
    ),
    (
        "unknown field key",
        _field_set("month", "nullable", True),
        [("fields[1].nullable", "is not a known key here (check its spelling)")],
    ),
    ("missing title", _drop("title"), [("title", "is required")]),
    ("blank title", _top("title", "  "), [("title", "must not be empty")]),
    (
        "bad id",
        _top("id", "Test Crime"),
        [
            (
                "id",
                "'Test Crime' is not a dataset id: use 2 to 64 lower-case letters, digits and "
                "hyphens, starting with a letter or digit, like mps-recorded-crime",
            )
        ],
    ),
    (
        "bad frequency",
        _top("update_frequency", "fortnightly"),
        [
            (
                "update_frequency",
                "Input should be 'monthly', 'weekly', 'daily', 'quarterly', 'annual' or "
                "'irregular'",
            )
        ],
    ),
    (
        "field name not snake_case",
        _field_set("easting", "name", "Easting"),
        [
            (
                "fields[4].name",
                "'Easting' is not a snake_case name: use lower-case letters, digits and single "
                "underscores, starting with a letter, like crime_type",
            )
        ],
    ),
    (
        "YAML reads a number where text is needed",
        _top("provider", 1234),
        [
            (
                "provider",
                "must be text (put it in quotes if YAML reads it as a number, date or yes/no)",
            )
        ],
    ),
    (
        "duplicate code in a named list",
        _duplicate_code,
        [("code_lists.crime_type.values", "code values must be unique; repeated: 'robbery'")],
    ),
    (
        "duplicate code inline",
        _inline_duplicate,
        [
            ("fields[2].codes.values", "code values must be unique; repeated: 'a'"),
        ],
    ),
    (
        "aggregated without a measure",
        _aggregated_without_measure,
        [("measure", "an aggregated dataset must name its measure column (measure:)")],
    ),
    (
        "measure with the wrong role",
        _measure_not_a_measure,
        [("measure", "the measure age must have role measure")],
    ),
    (
        "measure on a record dataset",
        _top("measure", "age"),
        [("measure", "only an aggregated dataset has a measure; this one is record level")],
    ),
    (
        "identifier without pseudonymisation",
        _field_del("crime_reference", "pseudonymise"),
        [
            (
                "fields[0]",
                "crime_reference is an identifier, so it must say how it is pseudonymised: "
                "pseudonymise: drop, hmac_token or keep_public",
            )
        ],
    ),
    (
        "keep_public on private data",
        _field_set("crime_reference", "pseudonymise", "keep_public"),
        [
            (
                "fields[0].pseudonymise",
                "crime_reference: keep_public is only for data already published openly "
                "(disclosure method none); use drop or hmac_token",
            )
        ],
    ),
    (
        "personal characteristic not generalised",
        _field_del("age", "generalise"),
        [
            (
                "fields[3]",
                "age is a personal characteristic, so it must say how it is generalised: "
                "generalise: with method bands, group or as_provided",
            )
        ],
    ),
    (
        "band edges not increasing",
        _field_set("age", "generalise", {"method": "bands", "edges": [0, 25, 18]}),
        [
            (
                "fields[3].generalise.edges",
                "band edges must start at 0 or more and strictly increase",
            )
        ],
    ),
    (
        "unknown generalisation method",
        _field_set("age", "generalise", {"method": "blur"}),
        [
            (
                "fields[3].generalise",
                "Input tag 'blur' found using 'method' does not match any of the expected "
                "tags: 'bands', 'group', 'as_provided'",
            )
        ],
    ),
    (
        "code field without codes",
        _field_set("lsoa_code", "type", "code"),
        [
            (
                "fields[6]",
                "lsoa_code has type code, so it needs a code list (codes: values or named)",
            )
        ],
    ),
    (
        "named code list that does not exist",
        _field_set("crime_type", "codes", {"named": "offence"}),
        [
            (
                "fields[2].codes.named",
                "crime_type uses code list offence, which is not defined under code_lists",
            ),
            ("code_lists.crime_type", "code list crime_type is not used by any field"),
        ],
    ),
    (
        "unknown field in a layout",
        _column("crime_typo", "Typo"),
        [
            (
                "layouts[0].columns.crime_typo",
                "layout extract reads a column into crime_typo, which is not one of the fields",
            )
        ],
    ),
    (
        "one header for two fields",
        _column("age", "Month"),
        [
            (
                "layouts[0].columns.age",
                "layout extract: header 'Month' is given for both month and age",
            )
        ],
    ),
    (
        "required field with no column",
        _drop_column("month"),
        [
            (
                "layouts[0].date_formats.month",
                "layout extract has a date format for month but no column for it",
            ),
            (
                "layouts[0].columns",
                "layout extract gives no column for the required field month",
            ),
        ],
    ),
    (
        "a header that is neither text nor a list",
        _column("month", None),
        [
            (
                "layouts[0].columns.month",
                "must be text (put it in quotes if YAML reads it as a number, date or yes/no)",
            )
        ],
    ),
    (
        "bad date format",
        _layout_set("date_formats", {"month": "%Y-%Q"}),
        [
            (
                "layouts[0].date_formats.month",
                "'%Y-%Q' is not a date format that can be read back: check the % codes",
            )
        ],
    ),
    (
        "date format for a field that is not a date",
        _layout_set("date_formats", {"month": "%Y-%m", "age": "%Y"}),
        [("layouts[0].date_formats.age", "age has type integer, so it takes no date format")],
    ),
    (
        "bad melt pattern",
        _layout_set(
            "melt",
            {"columns": "^(\\d{6}$", "into": "month", "header_format": "%Y%m", "value": "age"},
        ),
        [
            (
                "layouts[0].melt.columns",
                "'^(\\d{6}$' is not a valid regular expression: missing ), unterminated "
                "subpattern at position 1",
            )
        ],
    ),
    (
        "geography from a field that does not exist",
        _top(
            "geography", {"source": "lsoa", "field": "lsoa", "outputs": {"borough": "borough_code"}}
        ),
        [("geography.field", "the geography field lsoa is not one of the fields")],
    ),
    (
        "geography derived the wrong way",
        _top(
            "geography",
            {"source": "borough", "field": "borough_code", "outputs": {"lsoa": "lsoa_code"}},
        ),
        [
            (
                "geography.outputs.lsoa",
                "lsoa is not coarser than borough: a derivation goes from LSOA to ward to borough",
            )
        ],
    ),
    (
        "centroid suppression without the LSOA",
        _top(
            "location",
            {
                "crs": "bng",
                "x": "easting",
                "y": "northing",
                "suppression": {"method": "lsoa_centroid"},
            },
        ),
        [],  # the minimal spec derives the LSOA, so this one is valid: see the next case
    ),
    (
        "ward centroid suppression without the ward",
        _top(
            "location",
            {
                "crs": "bng",
                "x": "easting",
                "y": "northing",
                "suppression": {"method": "ward_centroid"},
            },
        ),
        [
            (
                "location.suppression",
                "suppression to the ward centroid needs the geography to give each row its ward "
                "(geography.outputs)",
            )
        ],
    ),
    (
        "coordinates that are not numbers",
        _top(
            "location",
            {
                "crs": "wgs84",
                "x": "lsoa_code",
                "y": "northing",
                "suppression": {"method": "snap_grid", "metres": 100},
            },
        ),
        [
            (
                "location.x",
                "the coordinate field lsoa_code must be a number (integer or decimal) with role "
                "geography",
            )
        ],
    ),
    (
        "snap grid without metres",
        _top(
            "location",
            {"crs": "bng", "x": "easting", "y": "northing", "suppression": {"method": "snap_grid"}},
        ),
        [("location.suppression.metres", "is required")],
    ),
    (
        "no disclosure control for private data needs its public source",
        _top("disclosure", {"method": "none"}),
        [("disclosure.public_source", "is required")],
    ),
    (
        "threshold k out of range",
        _top("disclosure", {"method": "threshold", "k": 0}),
        [("disclosure.k", "Input should be greater than or equal to 2")],
    ),
    (
        "field defined twice",
        _duplicate_field,
        [("fields[8].name", "field easting is defined more than once")],
    ),
    (
        "coverage field that is not a time",
        _top("coverage_field", "age"),
        [
            (
                "coverage_field",
                "the coverage field age must have role time and type date, month or datetime",
            )
        ],
    ),
]


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [pytest.param(m, e, id=name) for name, m, e in BAD_SPECS if e],
)
def test_a_bad_spec_is_refused_with_each_problem_named(
    mutate: Mutation, expected: list[tuple[str, str]]
) -> None:
    spec = minimal_spec()
    mutate(spec)
    assert problems_of(spec) == expected


def test_problems_carry_the_file_and_line() -> None:
    text = as_yaml(minimal_spec()).replace("kind: record", "kind: recrod")
    with pytest.raises(SpecError) as caught:
        parse_spec(text, source="test-crime.yaml")
    (problem,) = caught.value.problems
    line = text.splitlines().index("kind: recrod") + 1
    assert str(problem) == (
        f"test-crime.yaml:{line}: kind: Input should be 'record' or 'aggregated'"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("id: a\nid: b\n", "this is not valid YAML: the key 'id' is given more than once"),
        (
            "base: &b {k: 1}\nother: *b\n",
            "this is not valid YAML: anchors (&name) are not allowed in a spec",
        ),
        ("id: [unclosed\n", "this is not valid YAML: expected ',' or ']', but got '<stream end>'"),
        ("- a list\n", "a spec is a mapping of keys to values"),
        ("", "a spec is a mapping of keys to values"),
    ],
)
def test_yaml_is_read_strictly(text: str, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec(text)
    assert [p.message for p in caught.value.problems] == [message]


def test_a_huge_spec_is_refused_before_parsing() -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec("#" * 200_001)
    assert caught.value.problems[0].message == "a spec is at most 200,000 characters long"


SHIPPED = sorted(path.stem for path in SPECS_DIR.glob("*.yaml"))


def test_every_dataset_named_in_the_brief_has_a_spec_file() -> None:
    assert SHIPPED == [
        "colp-crime",
        "istv-ed-attendances",
        "las-violence-dispatches",
        "lfb-incidents",
        "mps-asb-incidents",
        "mps-borough-crime-counts",
        "mps-crime-outcomes",
        "mps-recorded-crime",
        "mps-suspects",
        "mps-victims",
        "mps-ward-crime-counts",
        "police-uk-street",
        "transport-crime",
    ]


@pytest.mark.parametrize("dataset_id", SHIPPED)
def test_each_shipped_spec_file_loads_and_round_trips(dataset_id: str) -> None:
    spec = load_spec_file(SPECS_DIR / f"{dataset_id}.yaml")
    assert spec.id == dataset_id
    assert DatasetSpec.model_validate_json(spec.model_dump_json()) == spec
    assert DatasetSpec.model_validate(canonical(spec)) == spec


def test_all_shipped_files_load_together() -> None:
    assert len(load_spec_files()) == len(SHIPPED)


def test_the_public_formats_are_read_with_their_published_headers() -> None:
    street = load_spec_file(SPECS_DIR / "police-uk-street.yaml")
    (layout,) = street.layouts
    headers = [h for name in layout.columns for h in layout.headers(name)]
    assert headers == [
        "Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude",
        "Location", "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context",
    ]  # fmt: skip
    crime_type = street.field("crime_type")
    assert crime_type is not None
    assert len(street.code_values(crime_type) or []) == 14
    crime_id = street.field("crime_id")
    assert crime_id is not None and not crime_id.required  # ASB rows have none

    wards = load_spec_file(SPECS_DIR / "mps-ward-crime-counts.yaml")
    assert wards.kind == "aggregated" and wards.measure == "count"
    current, historic = wards.layouts
    assert current.headers("borough_name") == ["LookUp_BoroughName", "BoroughName"]
    assert current.melt is not None and current.melt.columns == r"^[0-9]{6}$"
    assert historic.headers("major_category") == ["Major Category"]
    assert (current.constants, historic.constants) == (
        {"classification": "home_office_2019"},
        {"classification": "previous"},
    )
    assert wards.geography is not None
    assert wards.geography.other_areas == ["Aviation Security (SO18)"]


def test_the_file_name_must_be_the_dataset_id(tmp_path: Path) -> None:
    path = tmp_path / "other-name.yaml"
    path.write_text(as_yaml(minimal_spec()))
    with pytest.raises(SpecError) as caught:
        load_spec_file(path)
    assert str(caught.value) == (
        "other-name.yaml: id: the file of dataset test-crime must be test-crime.yaml"
    )


def test_the_committed_json_schema_is_current() -> None:
    committed = json.loads((SPECS_DIR / "dataset-spec.schema.json").read_text())
    assert committed == json_schema(), "run: safestats catalogue schema > " + str(
        SPECS_DIR / "dataset-spec.schema.json"
    )
    assert committed["additionalProperties"] is False


def test_disclosure_rules_read_as_words() -> None:
    spec = parse_spec(as_yaml(minimal_spec()))
    assert describe_disclosure(spec.disclosure) == (
        "Counts from 1 to 7 are suppressed and shown as [c]; zero is shown as 0. Other counts "
        "are rounded to the nearest 5. Further cells are suppressed where totals would "
        "reveal a suppressed one."
    )


def test_the_hash_ignores_layout_and_comments_of_the_yaml() -> None:
    data = minimal_spec()
    one = parse_spec(as_yaml(data))
    two = parse_spec("# a comment\n" + json.dumps(data, indent=4))
    assert spec_hash(one) == spec_hash(two)
    data["title"] = "Changed"
    assert spec_hash(parse_spec(as_yaml(data))) != spec_hash(one)


# ------------------------------------------------------------ generated specs round trip

names = st.from_regex(r"[a-z][a-z0-9]{0,8}(_[a-z0-9]{1,5}){0,2}", fullmatch=True)
text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30
).filter(lambda value: value.strip() != "")


@st.composite
def extra_fields(draw: st.DrawFn) -> list[dict[str, Any]]:
    chosen = draw(
        st.lists(names, unique=True, max_size=6).map(
            lambda ns: [n for n in ns if n not in {"month", "count"}]
        )
    )
    fields = []
    for name in chosen:
        kind = draw(st.sampled_from(["category", "identifier", "free_text", "bands", "number"]))
        base: dict[str, Any] = {
            "name": name,
            "description": draw(text),
            "required": draw(st.booleans()),
        }
        if kind == "category":
            codes = draw(st.lists(text, min_size=1, max_size=5, unique=True))
            base |= {
                "type": "category",
                "role": "category",
                "codes": {"values": [{"code": c, "label": draw(text)} for c in codes]},
            }
        elif kind == "identifier":
            base |= {
                "type": "string",
                "role": "identifier",
                "pseudonymise": draw(st.sampled_from(["drop", "hmac_token"])),
            }
        elif kind == "free_text":
            base |= {
                "type": "string",
                "role": "free_text",
                "max_length": draw(st.integers(1, 1000)),
                "pid_screening": draw(st.booleans()),
            }
        elif kind == "bands":
            edges = sorted(draw(st.sets(st.integers(0, 120), min_size=2, max_size=8)))
            base |= {
                "type": "integer",
                "role": "personal_characteristic",
                "generalise": {"method": "bands", "edges": edges},
            }
        else:
            base |= {"type": draw(st.sampled_from(["integer", "decimal"])), "role": "measure"}
        fields.append(base)
    return fields


disclosures = st.one_of(
    st.builds(
        lambda k, r: {"method": "threshold", "k": k, "rounding_base": r},
        st.integers(2, 100),
        st.one_of(st.none(), st.integers(2, 100)),
    ),
    st.builds(lambda b: {"method": "round", "base": b}, st.integers(2, 100)),
    st.builds(
        lambda n, k: {"method": "cell_key", "max_noise": n, "k": k},
        st.integers(1, 10),
        st.one_of(st.none(), st.integers(2, 100)),
    ),
)


@st.composite
def specs(draw: st.DrawFn) -> dict[str, Any]:
    fields = [
        {
            "name": "month",
            "type": "month",
            "role": "time",
            "required": True,
            "description": "Month.",
        },
        {
            "name": "count",
            "type": "integer",
            "role": "measure",
            "required": True,
            "description": "Count.",
        },
        *draw(extra_fields()),
    ]
    aggregated = draw(st.booleans())
    return {
        "id": draw(st.from_regex(r"[a-z0-9][a-z0-9-]{1,20}", fullmatch=True)),
        "title": draw(text),
        "provider": draw(text),
        "description": draw(text),
        "update_frequency": draw(
            st.sampled_from(["monthly", "weekly", "daily", "quarterly", "annual", "irregular"])
        ),
        "kind": "aggregated" if aggregated else "record",
        "measure": "count" if aggregated else None,
        "coverage_field": "month",
        "fields": fields,
        "disclosure": draw(disclosures),
        "layouts": [
            {
                "name": "extract",
                "description": "Generated.",
                "columns": {f["name"]: f"H{i} {f['name']}" for i, f in enumerate(fields)},
                "date_formats": {"month": draw(st.sampled_from(["%Y-%m", "%m/%Y", "%Y%m"]))},
            }
        ],
    }


@hypothesis_settings(max_examples=60, deadline=None)
@given(specs())
def test_a_spec_survives_a_round_trip_through_json(data: dict[str, Any]) -> None:
    spec = DatasetSpec.model_validate(data)
    again = DatasetSpec.model_validate_json(spec.model_dump_json())
    assert again == spec
    assert spec_hash(again) == spec_hash(spec)
    assert parse_spec(json.dumps(canonical(spec), ensure_ascii=False)) == spec
