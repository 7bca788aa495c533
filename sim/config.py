"""Compose a configuration from the shipped ``configs/``, as the command line does, without Hydra.

``load_config(["governance=full", "n_alliances=500"])`` (also ``sim.load_config``) is the
one way the library, the classroom server, the stress test, the tests and scripts (an
EMA Workbench model function, say) turn overrides into a validated
:class:`~sim.params.SimulationConfig`. It reads the same files as ``alliance-sim`` and
gives the same configuration and the same named errors, but it holds no process-wide
state: Hydra's ``GlobalHydra`` allows one composition at a time in a process, which a web
server with many sessions, or a pool of threads, cannot promise. Here a composition only
reads the configs (each file read once and kept) and builds a new frozen dataclass, so
any number of threads may compose at once; a repeated composition is served from a cache.

The overrides are Hydra's syntax, restricted to what composes one configuration:

* ``group=option`` chooses a config group's option (``governance=full``);
* ``group.setting=value`` and ``setting=value`` set one value; values are read as
  Hydra reads them (``500`` an integer, ``0.5`` and ``1e-3`` numbers, ``true``/``false``,
  ``null``, ``'quoted text'``, ``[a, b]``, ``{a: 1}``, anything else text);
* ``+experiment=<study>`` applies a study's file (its option choices and settings), as
  the command line does before it sweeps; the command line's own overrides win;
* keys that steer only the command line (``progress``, ``ensemble``, ``hydra.*``,
  ``study.*``) are checked and left out of the model's configuration.

A sweep (``a,b``, ``range(...)``) composes many configurations: it is refused here with a
message that says so (the command line runs sweeps with ``-m``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.defaults import GROUPS, TOP_LEVEL, data_dir, default_choices, option
from sim.params import ConfigError, SimulationConfig

EXPERIMENT_DIR = data_dir("experiments")
EXPERIMENT = "experiment"
SWEEP_FUNCTIONS = ("choice", "range", "interval", "glob", "sort", "shuffle", "tag", "extend_list")
"""Hydra's sweep and list functions: none composes one configuration."""


@dataclass(frozen=True)
class Override:
    """One parsed override: ``prefix key = value`` (or the values of a sweep)."""

    text: str
    prefix: str  # "", "+", "++" or "~"
    key: str
    values: tuple[Any, ...]  # one value, or each value of a sweep
    sweep: bool = False

    @property
    def value(self) -> Any:
        return self.values[0] if self.values else None


# ------------------------------------------------------------------ parsing
_KEY = re.compile(r"^(\+\+|\+|~)?([A-Za-z0-9_$\-]+(?:[./][A-Za-z0-9_$\-]+)*)(@[A-Za-z0-9_.$\-]*)?$")
_INT = re.compile(r"^[+-]?(?:0|[1-9](?:_?[0-9])*)$")
_FLOAT = re.compile(
    r"^[+-]?(?:(?:[0-9](?:_?[0-9])*)?\.[0-9](?:_?[0-9])*(?:[eE][+-]?[0-9](?:_?[0-9])*)?"
    r"|[0-9](?:_?[0-9])*\.(?:[eE][+-]?[0-9](?:_?[0-9])*)?"
    r"|[0-9](?:_?[0-9])*[eE][+-]?[0-9](?:_?[0-9])*"
    r"|inf|nan)$",
    re.IGNORECASE,
)
_BOOL = re.compile(r"^(?:true|false)$", re.IGNORECASE)
_NULL = re.compile(r"^null$", re.IGNORECASE)
_HINT = "write key=value, e.g. governance=full or n_alliances=500"


class _Syntax(Exception):
    """A value that does not parse; the caller names the override."""


def _primitive(text: str) -> Any:
    word = text.strip()
    if _INT.match(word):
        return int(word.replace("_", ""))
    if _FLOAT.match(word):
        return float(word.replace("_", ""))
    if _BOOL.match(word):
        return word.lower() == "true"
    if _NULL.match(word):
        return None
    return word


class _Reader:
    """A recursive reader of one override value (quoted text, lists, mappings, primitives)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0

    def peek(self) -> str:
        return self.text[self.at] if self.at < len(self.text) else ""

    def skip_space(self) -> None:
        while self.peek() in (" ", "\t"):
            self.at += 1

    def element(self, stops: str) -> Any:
        self.skip_space()
        first = self.peek()
        if first in ("'", '"'):
            value: Any = self.quoted(first)
        elif first == "[":
            value = self.sequence()
        elif first == "{":
            value = self.mapping()
        else:
            start = self.at
            depth = 0
            while self.at < len(self.text):
                char = self.text[self.at]
                if char in "([{":
                    depth += 1
                elif char in ")]}":
                    if depth == 0:
                        break
                    depth -= 1
                elif char in stops and depth == 0:
                    break
                self.at += 1
            word = self.text[start : self.at]
            if "(" in word and word.split("(", 1)[0].strip() in SWEEP_FUNCTIONS:
                raise _Syntax(f"{word.split('(', 1)[0].strip()}(...) is a sweep")
            return _primitive(word)
        self.skip_space()
        return value

    def quoted(self, quote: str) -> str:
        self.at += 1
        out = []
        while self.at < len(self.text):
            char = self.text[self.at]
            if char == "\\" and self.at + 1 < len(self.text) and self.text[self.at + 1] in (quote, "\\"):
                out.append(self.text[self.at + 1])
                self.at += 2
                continue
            if char == quote:
                self.at += 1
                return "".join(out)
            out.append(char)
            self.at += 1
        raise _Syntax(f"the quote {quote} is not closed")

    def sequence(self) -> list[Any]:
        self.at += 1
        items: list[Any] = []
        self.skip_space()
        if self.peek() == "]":
            self.at += 1
            return items
        while True:
            items.append(self.element(",]"))
            if self.peek() == ",":
                self.at += 1
            elif self.peek() == "]":
                self.at += 1
                return items
            else:
                raise _Syntax("a list is not closed with ]")

    def mapping(self) -> dict[str, Any]:
        self.at += 1
        items: dict[str, Any] = {}
        self.skip_space()
        if self.peek() == "}":
            self.at += 1
            return items
        while True:
            key = self.element(":,}")
            if self.peek() != ":":
                raise _Syntax("a mapping entry needs key: value")
            self.at += 1
            items[str(key)] = self.element(",}")
            if self.peek() == ",":
                self.at += 1
            elif self.peek() == "}":
                self.at += 1
                return items
            else:
                raise _Syntax("a mapping is not closed with }")


def parse_value(text: str) -> tuple[tuple[Any, ...], bool]:
    """The value(s) of an override's right-hand side, and whether it is a sweep (``a,b``)."""
    reader = _Reader(text)
    values = [reader.element(",")]
    while reader.peek() == ",":
        reader.at += 1
        values.append(reader.element(","))
    if reader.at < len(text):
        raise _Syntax(f"unexpected {text[reader.at]!r}")
    if len(values) == 1 and isinstance(values[0], str) and not text.strip():
        return ("",), False
    return tuple(values), len(values) > 1


def parse_override(text: Any) -> Override:
    """One override, or a ConfigError naming it and what is allowed."""
    from sim.validation import show

    if not isinstance(text, str):
        raise ConfigError(f"override {show(repr(text))}: must be text, {_HINT}")
    key_text, equals, value_text = text.partition("=")
    found = _KEY.match(key_text.strip())
    if found is None:
        raise ConfigError(f"override {show(text)}: {show(key_text)} is not a key; {_HINT}")
    prefix, key = found.group(1) or "", found.group(2)
    if not equals:
        if prefix == "~":
            return Override(text, prefix, key, ())
        raise ConfigError(f"override {show(text)}: no value; {_HINT}")
    try:
        values, sweep = parse_value(value_text)
    except _Syntax as error:
        raise ConfigError(f"override {show(text)}: {error}; {_HINT}") from None
    return Override(text, prefix, key, values, sweep)


def parse_overrides(overrides: Any) -> list[Override]:
    """Every override of a list, or a ConfigError naming the first that is not one."""
    from sim.validation import show

    if isinstance(overrides, str) or not isinstance(overrides, Sequence):
        raise ConfigError(
            f"overrides = {show(repr(overrides))}: must be a list of texts like 'governance=full'"
        )
    return [parse_override(text) for text in overrides]


# ------------------------------------------------------------------ studies
@functools.cache
def study_choices(path: Path) -> tuple[dict[str, str], dict[str, Any]]:
    """What ``+experiment=<name>`` composes: the option it chooses for each group, and the
    settings it sets (a group's as a mapping); its ``study``, ``hydra`` and command-line
    blocks steer only the command line. Read once per process."""
    from sim.studies.files import load_study_file

    data = load_study_file(path)
    chosen: dict[str, str] = {}
    for entry in data.get("defaults") or []:
        if isinstance(entry, Mapping):
            for key, value in entry.items():
                group = str(key).removeprefix("override").strip().lstrip("/")
                if group in GROUPS:
                    chosen[group] = str(value)
    settings = {k: v for k, v in data.items() if k in GROUPS or k in TOP_LEVEL}
    return chosen, settings


def study_names() -> list[str]:
    return sorted(p.stem for p in Path(EXPERIMENT_DIR).glob("*.yaml"))


# ------------------------------------------------------------------ composition
def load_config(overrides: Sequence[str] | None = None) -> SimulationConfig:
    """Compose ``configs/`` with Hydra-style overrides and validate it (see the module).

    Safe to call from many threads at once; the same overrides give the same (frozen)
    configuration, from a cache after the first time."""
    texts = tuple(o.text for o in parse_overrides([] if overrides is None else overrides))
    return _compose(texts, Path(EXPERIMENT_DIR))


@functools.lru_cache(maxsize=4096)
def _compose(texts: tuple[str, ...], studies: Path) -> SimulationConfig:
    overrides = [parse_override(text) for text in texts]
    from sim.validation import check_parsed

    names = sorted(p.stem for p in studies.glob("*.yaml"))
    check_parsed([(o.text, o.prefix, o.key, o.values) for o in overrides], studies=names)
    for o in overrides:
        if o.sweep:
            raise ConfigError(
                f"override {o.text}: a sweep composes many configurations; load_config composes one "
                "(run sweeps with alliance-sim -m)"
            )
    defaults, top = default_choices()
    chosen = dict(defaults)
    data: dict[str, Any] = dict(top)
    merged: list[tuple[str, Mapping[str, Any]]] = []
    for o in overrides:
        if o.key == EXPERIMENT:
            study_chosen, study_settings = study_choices(studies / f"{o.value}.yaml")
            chosen.update(study_chosen)
            for key, value in study_settings.items():
                if key in GROUPS and isinstance(value, Mapping):
                    merged.append((key, value))
                else:
                    data[key] = value
    for o in overrides:  # the command line's own choices win over a study's
        if o.key in GROUPS:
            chosen[o.key] = str(o.value)
    for group in GROUPS:
        data[group] = dict(option(group, chosen[group]))
    for group, settings in merged:
        data[group].update(settings)
    for o in overrides:
        group, _, name = o.key.partition(".")
        if group in GROUPS and name:
            data[group][name] = o.value
        elif o.key in TOP_LEVEL:
            data[o.key] = o.value
    return SimulationConfig.from_dict(data)
