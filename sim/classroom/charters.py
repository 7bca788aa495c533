"""A practitioner's charter file (the YAML ``alliance-stress`` reads) opened in the classroom.

The charter describes its partners and its alliance (the market: who the firms are, how far
apart, what kind of alliance, which environment, for how long) and its clauses (governance,
adaptation triggers, termination, the launch). Opened as charter A or B, its market becomes
the classroom's market for both charters, so the two still run the same alliances, and its
clauses become that side's charter. Uncertain values (ranges) are replayed at their midpoint.
The same mapping as the stress test's (:mod:`sim.stress.mapping`) is used, and shown.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Any

from sim.stress.charter import CharterError, parse_charter
from sim.stress.mapping import MAPPING, central_charter, config_groups, model_overrides, uncertain_fields

CHARTER_SIDE = ("governance.", "triggers.", "dynamics.termination_", "launch")
"""Model parameters that belong to one side's charter; every other one is the shared market."""
MAX_CHARTER_BYTES = 200_000


def format_value(value: Any) -> str:
    """A value as an override writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, float):
        return repr(value)
    return str(value)


@dataclass(frozen=True)
class OpenedCharter:
    """A charter file read for the classroom: the market both charters share, this side's
    clauses, and how each model parameter was set (charter field, parameter, value)."""

    name: str
    market: tuple[str, ...]
    clauses: tuple[str, ...]
    rows: tuple[tuple[str, str, str], ...]
    midpoints: tuple[str, ...]  # fields given as ranges, replayed at their midpoint


def _field_of(parameter: str) -> str:
    for rule in MAPPING:
        if parameter in [p.strip() for p in rule.parameter.split(",")]:
            return rule.field
    return ""


def _charter_side(key: str) -> bool:
    return key.startswith(CHARTER_SIDE)


def read_charter_text(text: str, name: str) -> OpenedCharter:
    """Read a charter for the classroom, or raise CharterError naming the field and what is allowed."""
    if len(text.encode()) > MAX_CHARTER_BYTES:
        raise CharterError(
            f"{name}: {len(text.encode())} bytes; a charter file is at most {MAX_CHARTER_BYTES}"
        )
    charter = parse_charter(text, name)
    midpoints = tuple(path for path, _ in uncertain_fields(charter))
    central = central_charter(charter)
    from sim.config import load_config

    groups = config_groups(central)
    base = load_config([*groups, f"horizon_weeks={central.horizon_weeks}"])
    dotted = model_overrides(central, base.alliance.to_dict())
    stem = name.rsplit("/", 1)[-1].removesuffix(".yaml").removesuffix(".yml")
    label = re.sub(r"[^A-Za-z0-9_-]+", "_", stem).strip("_-")[:64]  # any file name: a name the model takes
    dotted["governance.name"] = label or "charter"
    market: list[str] = []
    clauses: list[str] = []
    rows: list[tuple[str, str, str]] = []
    for group in groups:
        key, _, value = group.partition("=")
        if key == "launch":
            clauses.append(group)
            rows.append((_field_of(f"{key} (config group)") or "alliance.launch", key, value))
        elif key in ("alliance", "scenario"):
            market.append(group)
            rows.append((_field_of(f"{key} (config group)"), key, value))
        else:  # governance=handshake, triggers=off: the clauses start from nothing
            clauses.append(group)
    for key, value in dotted.items():
        item = f"{key}={format_value(value)}"
        (clauses if _charter_side(key) else market).append(item)
        rows.append((_field_of(key), key, format_value(value)))
    return OpenedCharter(label, tuple(market), tuple(clauses), tuple(rows), midpoints)


__all__ = ["CharterError", "OpenedCharter", "read_charter_text"]
