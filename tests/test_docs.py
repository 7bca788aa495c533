"""The documentation stays true to the code.

docs/outputs.md documents every column of the three result tables and every
event kind; docs/ODD.md lists every parameter (with its default and range) and
the fixed constants. These tests parse both files and compare them with a
small real run and with the typed parameters, so a column, event kind or
parameter added, renamed or removed in the code fails here until the docs
follow.
"""

from __future__ import annotations

import dataclasses
import enum
import re
import types
import typing
from pathlib import Path

import pandas as pd
import pytest

from sim import vocabulary
from sim.analysis.output import write_results
from sim.params import (
    AllianceParams,
    Dynamics,
    GovernanceParams,
    LaunchParams,
    MarketParams,
    ScenarioParams,
    Section,
    SimulationConfig,
    TriggerParams,
)
from sim.runner import run_cohort
from sim.vocabulary import EventKind

DOCS = Path(__file__).resolve().parent.parent / "docs"
OUTPUTS = (DOCS / "outputs.md").read_text(encoding="utf-8")
ODD = (DOCS / "ODD.md").read_text(encoding="utf-8")

TABLES = ("alliances.parquet", "timeseries.parquet", "events.parquet")
SECTIONS: dict[str, type[Section]] = {
    "alliance": AllianceParams,
    "governance": GovernanceParams,
    "triggers": TriggerParams,
    "scenario": ScenarioParams,
    "launch": LaunchParams,
    "market": MarketParams,
    "dynamics": Dynamics,
}
ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|")


# ------------------------------------------------------------------ parsing
def split_sections(text: str, marker: str) -> dict[str, str]:
    """Headings starting with ``marker`` (e.g. ``"## "``) mapped to the text below them."""
    out: dict[str, str] = {}
    title = None
    lines: list[str] = []
    for line in text.splitlines():
        if line.startswith(marker):
            if title is not None:
                out[title] = "\n".join(lines)
            title, lines = line[len(marker) :].strip(), []
        elif title is not None:
            lines.append(line)
    if title is not None:
        out[title] = "\n".join(lines)
    return out


def table_rows(block: str) -> list[list[str]]:
    """Rows of the markdown tables in ``block`` whose first cell is a name in backticks."""
    rows = []
    for line in block.splitlines():
        if ROW.match(line.strip()):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            rows.append(cells)
    return rows


def documented_names(block: str) -> list[str]:
    return [ROW.match("| " + row[0] + " |").group(1) for row in table_rows(block)]


def output_section(title: str) -> str:
    sections = split_sections(OUTPUTS, "## ")
    assert title in sections, f"docs/outputs.md has no section '## {title}'"
    return sections[title]


def parameter_blocks() -> dict[str, str]:
    """ODD section 8 cut into its parameter groups: 'run', 'alliance', ..., 'constants'."""
    sections = split_sections(ODD, "### ")
    (title,) = [t for t in sections if t.startswith("8. Parameters")]
    blocks: dict[str, str] = {}
    name = None
    for line in sections[title].splitlines():
        heading = re.match(r"^\*\*`?([A-Za-z ]+?)`?(?::)?\*\*", line)
        if heading:
            name = heading.group(1).strip().lower()
            blocks[name] = ""
        elif name is not None:
            blocks[name] += line + "\n"
    return blocks


# ------------------------------------------------------------------ helpers
def fields_of(cls: type[Section]) -> list[dataclasses.Field]:
    hints = typing.get_type_hints(cls)
    return [f for f in dataclasses.fields(cls) if not dataclasses.is_dataclass(hints[f.name])]


def base_type(annotation):
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        (annotation,) = [a for a in typing.get_args(annotation) if a is not type(None)]
    return annotation


def number(text: str) -> float:
    """A documented number; integers stay exact (2**63 - 1 is not a float)."""
    text = text.replace("−", "-").replace(",", "").strip()
    try:
        return int(text)
    except ValueError:
        return float(text)


def default_matches(cell: str, value) -> bool:
    cell = cell.strip().strip("`")
    if value is None:
        return cell == "null"
    if isinstance(value, bool):
        return cell == str(value).lower()
    if isinstance(value, enum.Enum):
        return cell == value.value
    if isinstance(value, str):
        return cell == value
    return number(cell) == value


def range_problem(cell: str, field: dataclasses.Field, annotation) -> str | None:
    """None if the documented range agrees with the field's type and metadata."""
    kind = base_type(annotation)
    lo, hi = field.metadata.get("lo"), field.metadata.get("hi")
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        listed = {w.strip().strip("`") for w in cell.split(",")}
        expected = {m.value for m in kind}
        return None if listed == expected else f"lists {sorted(listed)}, allowed {sorted(expected)}"
    if kind is bool:
        listed = {w.strip() for w in cell.split(",")}
        ok = cell == "bool" or listed == {"null", "true", "false"}
        return None if ok else f"documented as {cell!r} for a boolean"
    if kind is str:
        return None if cell == "string" else f"documented as {cell!r} for a string"
    if lo is not None and hi is not None:
        found = re.match(r"^\[\s*([^,\]]+),\s*([^\]]+)\]", cell)
        if not found or (number(found.group(1)), number(found.group(2))) != (lo, hi):
            return f"documented as {cell!r}, code allows [{lo}, {hi}]"
        return None
    if lo is not None:
        found = re.match(r"^≥\s*(\S+)", cell)
        if not found or number(found.group(1)) != lo:
            return f"documented as {cell!r}, code allows >= {lo}"
        return None
    return f"documented as {cell!r}, but the code sets no range"  # pragma: no cover


# ------------------------------------------------------------------ outputs.md
@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """A small real run, written to disk as the command line would."""
    config = SimulationConfig(n_alliances=20, horizon_weeks=20, engine="cohort")
    out = tmp_path_factory.mktemp("run")
    write_results(run_cohort(config), out)
    return out


@pytest.mark.parametrize("table", TABLES)
def test_every_column_is_documented_and_every_documented_column_exists(run_dir, table):
    documented = documented_names(output_section(table))
    actual = list(pd.read_parquet(run_dir / table).columns)
    assert len(documented) == len(set(documented)), f"{table}: a column is documented twice"
    assert sorted(set(actual) - set(documented)) == [], f"{table}: columns missing from docs/outputs.md"
    assert sorted(set(documented) - set(actual)) == [], f"{table}: documented columns the run lacks"
    assert documented == actual, f"{table}: docs/outputs.md lists the columns in another order"


def dtype_matches(documented: str, dtype) -> bool:
    documented = documented.strip()
    if documented.startswith("Int64"):
        return str(dtype) == "Int64"
    if documented.startswith(("int64", "float64")):
        return str(dtype) == documented.split()[0]
    if documented.startswith("category"):
        return isinstance(dtype, pd.CategoricalDtype)
    return str(dtype) == "object"  # strings and lists


@pytest.mark.parametrize("table", TABLES)
def test_documented_column_types(run_dir, table):
    frame = pd.read_parquet(run_dir / table)
    rows = table_rows(output_section(table))
    wrong = [
        (row[0], row[1], str(frame[row[0].strip("`")].dtype))
        for row in rows
        if not dtype_matches(row[1], frame[row[0].strip("`")].dtype)
    ]
    assert wrong == []


def test_documented_categories_are_the_code_categories(run_dir):
    """The category lists in the type column are exactly the categories the tables use."""
    for table in TABLES:
        frame = pd.read_parquet(run_dir / table)
        for row in table_rows(output_section(table)):
            if row[1].startswith("category:"):
                listed = re.findall(r"`([^`]+)`", row[1])
                column = row[0].strip("`")
                assert listed == list(frame[column].cat.categories), f"{table}.{column}"


def test_every_event_kind_is_documented(run_dir):
    kinds = [k.value for k in EventKind]
    documented = documented_names(output_section("Event kinds and their detail"))
    assert sorted(documented) == sorted(kinds)
    events = pd.read_parquet(run_dir / "events.parquet")
    assert list(events["kind"].cat.categories) == kinds


# ------------------------------------------------------------------ ODD.md
PARAMETER_CLASSES = [SimulationConfig, *SECTIONS.values()]


@pytest.mark.parametrize("cls", PARAMETER_CLASSES, ids=lambda c: c.__name__)
def test_every_parameter_is_named_in_the_odd(cls):
    missing = [f.name for f in fields_of(cls) if f"`{f.name}`" not in ODD]
    assert missing == [], f"{cls.__name__} fields not named in docs/ODD.md"


@pytest.mark.parametrize(
    ("group", "cls"), [("run", SimulationConfig), *SECTIONS.items()], ids=lambda x: str(x)
)
def test_parameter_tables_match_the_code(group, cls):
    """Section 8 lists each group's fields exactly once, with the code's default and range."""
    blocks = parameter_blocks()
    assert group in blocks, f"docs/ODD.md section 8 has no table for {group}"
    rows = {ROW.match("| " + r[0] + " |").group(1): r for r in table_rows(blocks[group])}
    names = [f.name for f in fields_of(cls)]
    assert sorted(rows) == sorted(names), f"section 8, {group}: documented parameters differ"
    defaults = cls()
    hints = typing.get_type_hints(cls)
    problems = []
    for f in fields_of(cls):
        row = rows[f.name]
        value = getattr(defaults, f.name)
        if not default_matches(row[1], value):
            problems.append(f"{group}.{f.name}: default documented as {row[1]!r}, code has {value!r}")
        problem = range_problem(row[2], f, hints[f.name])
        if problem:
            problems.append(f"{group}.{f.name}: range {problem}")
    assert problems == []


def test_fixed_constants_match_the_code():
    """Every constant of sim/vocabulary.py named in the table has the documented value."""
    checked = 0
    for line in parameter_blocks()["fixed constants"].splitlines():
        if not line.startswith("|") or line.startswith("| ---") or line.startswith("| constant"):
            continue
        label, value = (c.strip() for c in line.strip().strip("|").split("|"))
        for name in re.findall(r"`([A-Z_]+)`", label):
            code = getattr(vocabulary, name)
            numbers = [number(x) for x in re.findall(r"-?\d+(?:\.\d+)?", value.replace("−", "-"))]
            expected = list(code) if isinstance(code, tuple) else [code]
            assert numbers == expected, f"{name}: documented {value!r}, code has {code!r}"
            checked += 1
    assert checked >= 10


@pytest.mark.parametrize("doc", ["ODD.md", "outputs.md"])
def test_qualified_parameter_references_exist(doc):
    """Every `section.name` mentioned in the docs is a parameter of that section."""
    text = (DOCS / doc).read_text(encoding="utf-8")
    unknown = set()
    for section, name in re.findall(r"`(" + "|".join(SECTIONS) + r")\.(\w+)", text):
        if name not in {f.name for f in dataclasses.fields(SECTIONS[section])}:
            unknown.add(f"{section}.{name}")
    assert sorted(unknown) == []
