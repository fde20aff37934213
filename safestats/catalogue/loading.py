"""Reading spec text (YAML) into a :class:`~safestats.catalogue.spec.DatasetSpec`, with
every problem named by file, path and line, and finding the spec files shipped in the
package (``safestats/catalogue/specs/*.yaml``).

Plain Python, no Django. The YAML is read safely, and more strictly than PyYAML's
default: a key given twice is a problem (PyYAML would keep the last one silently), and
anchors and aliases are refused, because an alias bomb expands to a huge document that
validation would then walk — this text can come from a web form.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from safestats.catalogue.spec import DatasetSpec

SPECS_DIR = Path(__file__).resolve().parent / "specs"
MAX_SPEC_CHARACTERS = 200_000

MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "is not a known key here (check its spelling)",
    "string_type": "must be text (put it in quotes if YAML reads it as a number, date or yes/no)",
    "int_type": "must be a whole number",
    "bool_type": "must be true or false",
    "list_type": "must be a list",
    "dict_type": "must be a mapping of keys to values",
    "model_type": "must be a mapping of keys to values",
    "model_attributes_type": "must be a mapping of keys to values",
}


@dataclass(frozen=True)
class Problem:
    source: str
    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class SpecError(Exception):
    """A spec that cannot be used, with every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(problem) for problem in problems))
        self.problems = problems


class _SpecLoader(yaml.SafeLoader):
    """SafeLoader refusing duplicate keys, anchors and aliases."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.MarkedYAMLError(
                problem="aliases (*name) are not allowed in a spec", problem_mark=event.start_mark
            )
        event = self.peek_event()
        if getattr(event, "anchor", None):
            raise yaml.MarkedYAMLError(
                problem="anchors (&name) are not allowed in a spec", problem_mark=event.start_mark
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.MarkedYAMLError(
                    problem=f"the key {key!r} is given more than once",
                    problem_mark=key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _dotted(loc: Iterable[Any]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _line_of(node: Any, loc: Iterable[Any]) -> int | None:
    """The 1-based line of the node at ``loc``, or of its nearest existing parent; None
    when not even the first key exists (the top of the file would point nowhere useful)."""
    if node is None:
        return None
    for depth, part in enumerate(loc):
        child = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == str(part):
                    child = value
                    break
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(part, int)
            and 0 <= part < len(node.value)
        ):
            child = node.value[part]
        if child is None:
            if depth == 0:
                return None
            break
        node = child
    return int(node.start_mark.line) + 1


def _problems_from(error: ValidationError, source: str, root: Any) -> list[Problem]:
    problems: list[Problem] = []
    for item in error.errors(include_url=False):
        loc = _without_union_tags(item["loc"])
        # A value that is neither member of a plain union (text, or a list of texts) fails
        # once per member, under the members' internal names: report it once, plainly.
        members = [part for part in loc if isinstance(part, str) and "[" in part]
        if members:
            loc = [part for part in loc if part not in members]
            if any(p.path == _dotted(loc) for p in problems):
                continue
        if item["type"] == "spec_inconsistent":
            for inner in item["ctx"]["problems"]:
                where = [*loc, *inner["loc"]]
                problems.append(
                    Problem(source, _dotted(where), inner["msg"], _line_of(root, where))
                )
            continue
        message = MESSAGES.get(item["type"], item["msg"])
        if item["type"] == "value_error":
            message = message.removeprefix("Value error, ")
        problems.append(Problem(source, _dotted(loc), message, _line_of(root, loc)))
    return problems


# pydantic puts the chosen member of a tagged union into the path (disclosure.threshold.k);
# the file has no such key, so it is left out of the path shown to people.
UNION_KEYS = {"codes", "generalise", "suppression", "disclosure"}


def _without_union_tags(loc: Iterable[Any]) -> list[Any]:
    cleaned: list[Any] = []
    skip_next = False
    for part in loc:
        if skip_next and isinstance(part, str):
            skip_next = False
            continue
        skip_next = part in UNION_KEYS
        cleaned.append(part)
    return cleaned


def parse_spec(text: str, *, source: str = "spec") -> DatasetSpec:
    """Read a spec from YAML (or JSON, which is YAML) text; raise :class:`SpecError`."""
    if len(text) > MAX_SPEC_CHARACTERS:
        raise SpecError(
            [Problem(source, "", f"a spec is at most {MAX_SPEC_CHARACTERS:,} characters long")]
        )
    loader = _SpecLoader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        line = mark.line + 1 if mark is not None else None
        message = f"this is not valid YAML: {error.problem}"
        raise SpecError([Problem(source, "", message, line)]) from None
    except yaml.YAMLError as error:
        raise SpecError([Problem(source, "", f"this is not valid YAML: {error}")]) from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise SpecError([Problem(source, "", "a spec is a mapping of keys to values", 1)])
    try:
        return DatasetSpec.model_validate(data)
    except ValidationError as error:
        raise SpecError(_problems_from(error, source, root)) from None


def load_spec_file(path: Path) -> DatasetSpec:
    """Read one spec file. Its name must be the dataset id (``<id>.yaml``)."""
    source = path.name
    spec = parse_spec(path.read_text(encoding="utf-8"), source=source)
    if path.stem != spec.id:
        raise SpecError(
            [Problem(source, "id", f"the file of dataset {spec.id} must be {spec.id}.yaml")]
        )
    return spec


def spec_files(directory: Path = SPECS_DIR) -> list[Path]:
    return sorted(directory.glob("*.yaml"))


def load_spec_files(directory: Path = SPECS_DIR) -> list[tuple[Path, DatasetSpec]]:
    """Every spec file in ``directory``; one :class:`SpecError` listing the problems of
    all the files, so one run shows everything to fix."""
    loaded, problems = [], []
    for path in spec_files(directory):
        try:
            loaded.append((path, load_spec_file(path)))
        except SpecError as error:
            problems.extend(error.problems)
    if problems:
        raise SpecError(problems)
    return loaded
