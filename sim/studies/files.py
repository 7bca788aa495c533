"""Study files (``experiments/*.yaml``) and their checks, before any cell runs.

A study file lists what it changes (options, settings), what it sweeps
(``hydra.sweeper.params``) and its ``study`` block: the axes of its figures, the baseline
its cells are paired against and the directions it checks. :func:`check_study` checks the
block against the sweep; :func:`load_study_file` reads a file (one error naming the file
for anything malformed).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sim.defaults import GROUPS, load_limited_yaml
from sim.params import NAME, ConfigError
from sim.validation import CLI_SETTINGS, _show, check_parsed, check_value, closest, settings, unknown_key

STUDY_KEYS = ("name", "title", "description", "x", "hue", "survival_by", "baseline", "checks")
CHECK_KEYS = {
    "difference": ("a", "b"),
    "did": ("treated", "control", "high", "low"),
}
CHECK_OPTIONAL = ("label", "kind", "outcome", "expect", "for_each")
OUTCOMES = ("failed", "success", "underperforming", "terminated")


def _swept(params: Mapping[str, Any]) -> dict[str, list[str]]:
    """A study's sweep (hydra.sweeper.params) as key -> its values, as strings."""
    from sim.config import parse_override

    out: dict[str, list[str]] = {}
    for key, value in params.items():
        override = parse_override(f"{key}={value}")
        out[override.key] = [_text(v) for v in override.values]
    return out


def _text(value: Any) -> str:
    """A value as a study table shows it (true/false lower case, as on the command line)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _check_cell(where: str, cell: Any, swept: dict[str, list[str]], fixed: dict[str, str]) -> None:
    """A mapping naming one cell (or a slice) of the sweep: swept keys and values it sweeps."""
    if not isinstance(cell, Mapping) or not cell:
        raise ConfigError(
            f"{where} = {_show(cell)}: must map swept keys to values, e.g. {{governance: handshake}}"
        )
    for key, value in cell.items():
        key = str(key)
        allowed = swept.get(key) or ([fixed[key]] if key in fixed else None)
        if allowed is None:
            raise ConfigError(
                f"{where}.{_show(key)}: not swept by this study; swept keys are {', '.join(swept)}"
            )
        if _text(value) not in allowed:
            raise ConfigError(f"{where}.{key} = {_show(value)}: the study sweeps {', '.join(allowed)}")


def check_study(
    study: Mapping[str, Any] | None, sweep: Mapping[str, Any] | None, source: str = "study"
) -> None:
    """Validate a study block against the sweep it runs (``hydra.sweeper.params`` merged with
    the command line's sweeps), so a typo fails before the first cell, not after the last."""
    if not study:
        return
    if not isinstance(study, Mapping):
        raise ConfigError(f"{source}: the study block must be a mapping, not {_show(study)}")
    swept = _swept(sweep or {})
    fixed: dict[str, str] = {}
    for key in study:
        if key not in STUDY_KEYS:
            guess = closest(str(key), list(STUDY_KEYS))
            hint = f"did you mean study.{guess[0]}? " if guess else ""
            raise ConfigError(
                f"{source}: unknown key study.{_show(key)}: {hint}allowed keys are {', '.join(STUDY_KEYS)}"
            )
    name = study.get("name")
    if name is not None and not (isinstance(name, str) and NAME.match(name)):
        raise ConfigError(
            f"{source}: study.name = {_show(name)}: must be 1 to 64 letters, digits, '_', '.' or '-' "
            "(it names the results folder)"
        )
    for key in ("title", "description"):
        if key in study and not isinstance(study[key], str):
            raise ConfigError(f"{source}: study.{key} = {_show(study[key])}: must be text")
    for key in ("x", "hue", "survival_by"):
        value = study.get(key)
        if value is not None and str(value) not in swept:
            raise ConfigError(
                f"{source}: study.{key} = {_show(value)}: must be a swept key ({', '.join(swept) or 'nothing is swept'})"
            )
    if study.get("baseline") is not None:
        _check_cell(f"{source}: study.baseline", study["baseline"], swept, fixed)
    checks = study.get("checks") or []
    if not isinstance(checks, list):
        raise ConfigError(f"{source}: study.checks must be a list of checks")
    for i, check in enumerate(checks):
        where = f"{source}: study.checks[{i}]"
        if not isinstance(check, Mapping):
            raise ConfigError(f"{where} = {_show(check)}: must be a mapping")
        kind = check.get("kind", "difference")
        if kind not in CHECK_KEYS:
            raise ConfigError(f"{where}.kind = {_show(kind)}: allowed kinds are {', '.join(CHECK_KEYS)}")
        allowed = (*CHECK_KEYS[kind], *CHECK_OPTIONAL)
        for key in check:
            if key not in allowed:
                raise ConfigError(
                    f"{where}: unknown key {_show(key)} for kind {kind}: allowed keys are {', '.join(allowed)}"
                )
        for key in CHECK_KEYS[kind]:
            if key not in check:
                raise ConfigError(
                    f"{where}: kind {kind} needs {', '.join(CHECK_KEYS[kind])}; {key} is missing"
                )
            _check_cell(f"{where}.{key}", check[key], swept, fixed)
        outcome = check.get("outcome", "failed")
        if outcome not in OUTCOMES:
            raise ConfigError(
                f"{where}.outcome = {_show(outcome)}: allowed outcomes are {', '.join(OUTCOMES)}"
            )
        expect = check.get("expect")
        if expect not in ("positive", "negative"):
            raise ConfigError(f"{where}.expect = {_show(expect)}: must be positive or negative")
        for_each = check.get("for_each")
        if for_each is not None and str(for_each) not in swept:
            raise ConfigError(
                f"{where}.for_each = {_show(for_each)}: must be a swept key ({', '.join(swept)})"
            )


def load_study_file(path: Path) -> dict[str, Any]:
    """Read a study file as YAML, its syntax errors as ConfigError naming the file."""
    import yaml

    try:
        data = load_limited_yaml(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot be read ({error})") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: invalid YAML ({_show(str(error).splitlines()[0])})") from None
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: a study file must hold a mapping (study:, hydra.sweeper.params:, settings)"
        )
    return data


HYDRA_ALLOWED = ("hydra.sweeper.params", "hydra.sweep.dir", "hydra.sweep.subdir", "hydra.launcher.n_jobs")
PER_CELL = ("${hydra.job.override_dirname}", "${hydra.job.num}", "${cell_dir:${hydra.job.override_dirname}}")


def check_hydra_block(hydra: Any) -> None:
    """A study file's ``hydra:`` block may say what the study sweeps and where its folders go,
    nothing else: no callbacks or other ``_target_`` (which would run code), a study folder
    inside ``results/``, a cell folder that differs from cell to cell, and a number of jobs."""
    if not isinstance(hydra, Mapping):
        raise ConfigError(f"hydra = {_show(hydra)}: must be a mapping (hydra.sweeper.params: ...)")
    allowed = f"allowed in a study file: {', '.join(HYDRA_ALLOWED)}"
    for key, value in hydra.items():
        paths = {"sweeper": ("params",), "sweep": ("dir", "subdir"), "launcher": ("n_jobs",)}
        if key not in paths or not isinstance(value, Mapping):
            raise ConfigError(f"hydra.{key}: not {allowed}")
        for inner in value:
            if inner not in paths[key]:
                raise ConfigError(f"hydra.{key}.{inner}: not {allowed}")
    sweep = hydra.get("sweep") or {}
    folder = sweep.get("dir")
    if folder is not None:
        text = str(folder)
        parts = Path(text).parts
        if (
            not isinstance(folder, str)
            or Path(text).is_absolute()
            or ".." in parts
            or parts[:1] != ("results",)
        ):
            raise ConfigError(
                f"hydra.sweep.dir = {_show(folder)}: a study file keeps its results inside results/ "
                "(a relative path starting with results/, without '..'); give another folder on the "
                "command line with hydra.sweep.dir=..."
            )
    subdir = sweep.get("subdir")
    if subdir is not None:
        text = str(subdir)
        if (
            not isinstance(subdir, str)
            or Path(text).is_absolute()
            or ".." in Path(text).parts
            or not any(p in text for p in PER_CELL)
        ):
            raise ConfigError(
                f"hydra.sweep.subdir = {_show(subdir)}: must be a relative folder, without '..', that "
                f"differs from cell to cell (it must contain one of {', '.join(PER_CELL)})"
            )
    jobs = (hydra.get("launcher") or {}).get("n_jobs")
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or not 1 <= jobs <= 256):
        raise ConfigError(f"hydra.launcher.n_jobs = {_show(jobs)}: must be an integer from 1 to 256")
    if "_target_" in str(hydra):
        raise ConfigError("hydra: a study file may not name code to run (_target_)")


def check_study_file(path: Path) -> None:
    """Validate a whole study file before Hydra reads it: YAML syntax, every key and value, the
    groups it overrides, its sweep and its study block. Errors name the file."""
    path = Path(path)
    data = load_study_file(path)
    try:
        allowed = {
            "study",
            "hydra",
            "defaults",
            *CLI_SETTINGS,
            *GROUPS,
            *(k for k in settings() if "." not in k),
        }
        for key, value in data.items():
            key = str(key)
            if key not in allowed:
                raise unknown_key(key)
            if key in GROUPS and isinstance(value, Mapping):
                for name, setting in value.items():
                    dotted = f"{key}.{name}"
                    if dotted not in settings():
                        raise unknown_key(dotted)
                    check_value(dotted, setting)
            elif key not in ("study", "hydra", "defaults"):
                check_value(key, value)
        entries = data.get("defaults", [])
        if not isinstance(entries, list):
            raise ConfigError(f"defaults = {_show(entries)}: must be a list of '- override /group: option'")
        for entry in entries:
            if not isinstance(entry, Mapping):
                raise ConfigError(f"defaults entry {_show(entry)}: write '- override /group: option'")
            for target, option in entry.items():
                group = str(target).removeprefix("override").strip().lstrip("/")
                if group not in GROUPS:
                    raise ConfigError(f"defaults entry {_show(target)}: groups are {', '.join(GROUPS)}")
                check_value(group, option)
        hydra = data.get("hydra") or {}
        check_hydra_block(hydra)
        sweeper = hydra.get("sweeper") if isinstance(hydra, Mapping) else None
        sweep = sweeper.get("params") if isinstance(sweeper, Mapping) else None
        if not isinstance(sweep, Mapping) or not sweep:
            raise ConfigError("hydra.sweeper.params must list what the study sweeps (key: value1,value2)")
        from sim.config import parse_override

        swept = [parse_override(f"{k}={_text(v)}") for k, v in sweep.items()]
        check_parsed([(o.text, o.prefix, o.key, o.values) for o in swept], studies=[])
        check_study(data.get("study"), {str(k): _text(v) for k, v in sweep.items()}, "study")
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from None
