"""The model's defaults: the calibrated configuration of ``configs/``, read without Hydra.

``configs/config.yaml`` names one option per config group (``governance:
handshake``, ``dynamics: default``, ...) and the top-level settings. The
command line composes that with Hydra; :func:`default_config` composes the
same files the same way (the typed schema's defaults, each group's option
file merged over its group, the top-level keys last), so ``AllianceModel()``,
``sim.load_config()`` and ``alliance-sim`` start from one set of numbers and
a recalibration changes all of them at once. A test checks the two
compositions agree on every option of every group.

:func:`compose` also takes choices the way a Mesa user writes them:
``governance="full"`` selects ``configs/governance/full.yaml``,
``"governance.shared_kpis": True`` sets one lever, a mapping merges several.
"""

from __future__ import annotations

import dataclasses
import functools
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sim.params import ConfigError, SimulationConfig

PACKAGE_DIR = Path(__file__).resolve().parent
CHECKOUT = PACKAGE_DIR.parent
"""The checkout, when the package runs from one (scripts write results/ there)."""
PACKAGED_DATA = PACKAGE_DIR / "_data"
"""Where a built wheel carries its copies of configs/ and experiments/*.yaml."""


def data_dir(name: str) -> Path:
    """``configs`` or ``experiments``: the installed package's copy, else the checkout's folder."""
    packaged = PACKAGED_DATA / name
    return packaged if packaged.is_dir() else PACKAGE_DIR.parent / name


CONFIG_DIR = data_dir("configs")
GROUPS = tuple(
    f.name
    for f in dataclasses.fields(SimulationConfig)
    if dataclasses.is_dataclass(typing.get_type_hints(SimulationConfig)[f.name])
)
"""Config groups that are sections of the model's settings (alliance, governance, ...)."""
TOP_LEVEL = tuple(f.name for f in dataclasses.fields(SimulationConfig) if f.name not in GROUPS)


@functools.cache
def yaml_loader() -> type:
    """A safe YAML loader that reads values as Hydra's OmegaConf does: only true/false are truth
    values (``off``, ``no`` stay text, as in ``triggers: off``)."""
    import re

    import yaml

    class Loader(yaml.SafeLoader):
        pass

    bool_tag = "tag:yaml.org,2002:bool"
    Loader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != bool_tag]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    Loader.add_implicit_resolver(
        bool_tag, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
    )
    return Loader


def load_yaml(text: str) -> Any:
    import yaml

    return yaml.load(text, Loader=yaml_loader())


MAX_YAML_BYTES = 1_000_000
MAX_YAML_DEPTH = 32
MAX_YAML_VALUES = 100_000


@functools.cache
def limited_loader(base: type | None = None) -> type:
    """A loader for files users write (charters, study files): ``base`` (the OmegaConf-like
    loader by default) that refuses what such files never need and an attacker would use:
    aliases that expand to more than MAX_YAML_VALUES values (the "billion laughs"), nesting
    deeper than MAX_YAML_DEPTH, and duplicate keys (which YAML would let the last one win
    silently). Each error gives the line."""
    import yaml
    from yaml.composer import ComposerError
    from yaml.constructor import ConstructorError

    class Limited(base or yaml_loader()):  # type: ignore[misc]
        depth = 0
        aliased = False

        def compose_document(self) -> Any:
            root = super().compose_document()
            if root is not None and self.aliased:
                sizes: dict[int, int] = {}

                def expanded(node: Any) -> int:  # values once aliases are written out (memoised)
                    if id(node) not in sizes:
                        sizes[id(node)] = 1  # a node that refers to itself counts once
                        children = node.value if isinstance(node.value, list) else []
                        sizes[id(node)] = 1 + sum(
                            expanded(c)
                            for pair in children
                            for c in (pair if isinstance(pair, tuple) else (pair,))
                        )
                    return sizes[id(node)]

                if expanded(root) > MAX_YAML_VALUES:
                    raise ComposerError(
                        None, None, f"aliases expand to more than {MAX_YAML_VALUES:,} values", root.start_mark
                    )
            return root

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                self.aliased = True
            self.depth += 1
            try:
                if self.depth > MAX_YAML_DEPTH:
                    raise ComposerError(
                        None,
                        None,
                        f"nested deeper than {MAX_YAML_DEPTH} levels",
                        self.peek_event().start_mark,
                    )
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.setdefault(key, key_node.start_mark.line)
                except TypeError:  # an unhashable key: the base loader says so
                    break
                if first != key_node.start_mark.line:
                    raise ConstructorError(
                        None, None, f"duplicate key {str(key)[:60]!r} (first given on line {first + 1})",
                        key_node.start_mark,
                    )  # fmt: skip
            return super().construct_mapping(node, deep=deep)

    return Limited


def load_limited_yaml(text: str, base: type | None = None) -> Any:
    """YAML a user wrote, read with :func:`limited_loader`; too large a text is refused first
    (``yaml.YAMLError`` with the reason)."""
    import yaml

    if len(text) > MAX_YAML_BYTES:
        raise yaml.YAMLError(f"{len(text):,} characters; at most {MAX_YAML_BYTES:,}")
    return yaml.load(text, Loader=limited_loader(base))


def _yaml(path: Path) -> dict[str, Any]:
    import yaml

    try:
        data = load_limited_yaml(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ConfigError(f"{path}: cannot be read as YAML ({error})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: must hold a mapping of settings, not {type(data).__name__}")
    return data


def options(group: str) -> list[str]:
    """The named options of a config group (the files of ``configs/<group>/``)."""
    return sorted(p.stem for p in (CONFIG_DIR / group).glob("*.yaml"))


@functools.cache
def option(group: str, name: str) -> dict[str, Any]:
    """The settings of ``configs/<group>/<name>.yaml``, or a ConfigError listing the options."""
    if group not in GROUPS:
        raise ConfigError(f"unknown config group {group!r}: groups are {', '.join(GROUPS)}")
    path = CONFIG_DIR / group / f"{name}.yaml"
    if not isinstance(name, str) or not path.is_file():
        raise ConfigError(f"{group} = {name!r}: allowed options are {', '.join(options(group))}")
    return _yaml(path)


@functools.cache
def default_choices() -> tuple[dict[str, str], dict[str, Any]]:
    """The option chosen for each group by ``configs/config.yaml``, and its top-level settings."""
    data = _yaml(CONFIG_DIR / "config.yaml")
    choices: dict[str, str] = {}
    for entry in data.get("defaults", []):
        if isinstance(entry, Mapping):
            for group, name in entry.items():
                if group in GROUPS:
                    choices[str(group)] = str(name)
    top = {k: v for k, v in data.items() if k in TOP_LEVEL}
    return choices, top


def _set_dotted(data: dict[str, Any], key: str, value: Any) -> None:
    group, _, name = key.partition(".")
    if group not in GROUPS or not name or "." in name:
        raise ConfigError(
            f"unknown key {key}: a dotted key is <group>.<setting>, with a group among {', '.join(GROUPS)}"
        )
    data[group][name] = value  # an unknown setting is named by SimulationConfig.from_dict


def compose(
    choices: Mapping[str, Any] | None = None, base: SimulationConfig | None = None
) -> SimulationConfig:
    """The default configuration with Mesa-style choices applied, validated.

    Without ``base`` the choices apply to the default configuration.
    ``choices`` maps a group to an option name (``"full"``), a mapping of its
    settings (merged over the option its ``name`` names, else over the
    default option) or a section object; a dotted
    key (``"governance.shared_kpis"``) sets one setting after the options are
    chosen; a top-level key (``n_alliances``, ``seed``) sets itself.
    """
    if base is None:
        defaults, top = default_choices()
        chosen = dict(defaults)
        data: dict[str, Any] = {group: {} for group in GROUPS}
        data.update(top)
    else:  # choices change a given configuration: only the groups named get a new option
        chosen, data = {}, base.to_dict()
    dotted: list[tuple[str, Any]] = []
    merged: dict[str, Mapping[str, Any]] = {}
    for key, value in (choices or {}).items():
        if "." in key:
            dotted.append((key, value))
        elif key in GROUPS:
            if isinstance(value, str):
                chosen[key] = value
            elif dataclasses.is_dataclass(value) and not isinstance(value, type):
                merged[key] = value.to_dict()  # type: ignore[attr-defined]
                chosen.pop(key, None)  # a whole section object replaces the option
            elif isinstance(value, Mapping):
                name = value.get("name")
                if isinstance(name, str) and name in options(key):
                    chosen[key] = name  # {"name": "full", ...}: that design, with these changes
                merged[key] = value
            else:
                allowed = ", ".join(options(key))
                raise ConfigError(
                    f"{key} = {value!r}: give an option name ({allowed}) or a mapping of {key} settings"
                )
        else:
            data[key] = value  # unknown keys are named by SimulationConfig.from_dict
    for group, name in chosen.items():
        data[group] = dict(option(group, name))
    for group, settings in merged.items():
        data[group] = {**data[group], **settings}
    for key, value in dotted:
        _set_dotted(data, key, value)
    return SimulationConfig.from_dict(data)


@functools.cache
def default_config() -> SimulationConfig:
    """The calibrated default run of ``configs/config.yaml`` (what ``alliance-sim`` runs bare)."""
    return compose()
