"""The calibrated ensemble: every parameter set that reproduces all patterns within tolerance.

Twenty-odd free parameters fitted to a handful of practitioner numbers are not
known exactly, so calibration keeps every set that reproduces P1 to P8 (see
``experiments/calibrate.py``), stored in ``results/calibration/ensemble.csv``:
one row a set, a ``parameter_set`` column (0 to n-1), one column per model
parameter named by its dotted config key (``dynamics.base_issue_rate``;
``alliance.<type>.<key>`` applies to that alliance type only) and the set's
pattern values in columns prefixed ``pattern.``.

A cohort run under the ensemble simulates the same alliances and shocks (the
same seed: common random numbers) under every set and stacks the tables with a
``parameter_set`` column. Its intervals combine the two sources of uncertainty
by the law of total variance: the variance of a rate is the spread of the rate
between sets plus the mean Monte Carlo variance of each set's estimate, and each
part's share of the total says how much of what is uncertain is the model's own
parameters and how much is the number of simulated alliances.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.calibration import apply_overrides
from sim.params import ConfigError, SimulationConfig
from sim.results import CohortResult
from sim.runner import run_cohort

SET_COLUMN = "parameter_set"
PATTERN_PREFIX = "pattern."
Z95 = 1.959963984540054


def load_ensemble(path: Path) -> pd.DataFrame:
    """Read and check an ensemble file; a malformed one raises :class:`ConfigError` naming the
    file, the column or row, the value and what is allowed."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(
            f"ensemble file {path} does not exist: run python experiments/calibrate.py to create it"
        )
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise ConfigError(f"ensemble file {path}: not a CSV table ({error})") from None
    if SET_COLUMN not in frame.columns:
        raise ConfigError(
            f"ensemble file {path}: no {SET_COLUMN} column (columns: {', '.join(frame.columns)})"
        )
    if not len(frame):
        raise ConfigError(f"ensemble file {path}: no parameter set (allowed: at least one row)")
    expected = list(range(len(frame)))
    if frame[SET_COLUMN].tolist() != expected:
        raise ConfigError(
            f"ensemble file {path}: {SET_COLUMN} = {frame[SET_COLUMN].tolist()[:5]}...: must number the rows 0 to {len(frame) - 1}"
        )
    parameters = parameter_columns(frame)
    base = SimulationConfig()
    for column in parameters:
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise ConfigError(
                f"ensemble file {path}, row {row}: {column} = {frame[column].iloc[row]!r}: must be a number"
            )
        _check_key(path, column, base)
    return frame


def _check_key(path: Path, column: str, base: SimulationConfig) -> None:
    parts = column.split(".")
    if parts[0] == "alliance" and len(parts) == 3:
        parts = [parts[0], parts[2]]
    section = getattr(base, parts[0], None) if len(parts) == 2 else None
    if (
        section is None
        or not dataclasses.is_dataclass(section)
        or parts[1] not in section.__dataclass_fields__
    ):
        raise ConfigError(
            f"ensemble file {path}: column {column} is not a model parameter "
            "(allowed: section.key, e.g. dynamics.base_issue_rate, or alliance.<type>.<key>)"
        )


def parameter_columns(frame: pd.DataFrame) -> list[str]:
    """The columns that are model parameters (neither the set's number nor a pattern)."""
    return [c for c in frame.columns if c != SET_COLUMN and not c.startswith(PATTERN_PREFIX)]


def parameter_sets(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Each row's parameters as dotted key -> value (integers where the model takes integers)."""
    base = SimulationConfig()
    integer = {}
    for column in parameter_columns(frame):
        parts = column.split(".")
        section, name = parts[0], parts[-1]
        hints = typing.get_type_hints(type(getattr(base, section)))
        integer[column] = hints[name] is int
    return [
        {c: round(float(row[c])) if integer[c] else float(row[c]) for c in integer}
        for _, row in frame.iterrows()
    ]


def run_ensemble(
    config: SimulationConfig,
    sets: Sequence[Mapping[str, Any]],
    progress: Callable[[int, int], None] | None = None,
) -> CohortResult:
    """Simulate ``config``'s cohort under every parameter set (same seed, so the same alliances
    and shocks) and stack the tables with a ``parameter_set`` column.

    ``progress`` is called after each set with (sets done, sets)."""
    alliances: list[pd.DataFrame] = []
    series: list[pd.DataFrame] = []
    events: list[pd.DataFrame] = []
    for number, values in enumerate(sets):
        result = run_cohort(apply_overrides(config, values))
        for table, out in (
            (result.alliances, alliances),
            (result.timeseries, series),
            (result.events, events),
        ):
            table = table.copy()
            table.insert(0, SET_COLUMN, np.int64(number))
            out.append(table)
        if progress is not None:
            progress(number + 1, len(sets))
    return CohortResult(
        config=config,
        alliances=pd.concat(alliances, ignore_index=True),
        timeseries=pd.concat(series, ignore_index=True),
        events=pd.concat(events, ignore_index=True),
    )


@dataclasses.dataclass(frozen=True)
class EnsembleInterval:
    """A quantity's ensemble mean with its Monte Carlo-only and combined 95% intervals."""

    mean: float
    mc_low: float
    mc_high: float
    low: float
    high: float
    between_share: float  # share of the combined variance that is spread between sets
    mc_share: float  # share that is Monte Carlo noise within sets
    sets: int

    def as_dict(self) -> dict[str, float]:
        return dataclasses.asdict(self)


def combined_interval(
    values: pd.Series, groups: pd.Series, bounds: tuple[float, float] = (0.0, 1.0)
) -> EnsembleInterval:
    """Law of total variance over the parameter sets ``groups``: the combined variance of a
    set's estimate is the between-set variance of the set means plus the mean within-set
    Monte Carlo variance of a set mean; the Monte Carlo-only interval is the usual one for the
    pooled mean. ``values`` are per-alliance 0/1 indicators or shares, so the intervals are
    clipped to ``bounds`` ((-1, 1) for paired differences of indicators)."""
    frame = pd.DataFrame({"v": values.astype(float).to_numpy(), "g": groups.to_numpy()}).dropna()
    by = frame.groupby("g")["v"]
    means, variances, counts = by.mean(), by.var(ddof=1).fillna(0.0), by.count()
    mean = float(means.mean())
    within = float((variances / counts).mean())
    between = float(means.var(ddof=1)) if len(means) > 1 else 0.0
    total = within + between
    pooled_se = math.sqrt(float(frame["v"].var(ddof=1)) / len(frame)) if len(frame) > 1 else 0.0
    half = Z95 * math.sqrt(total)
    return EnsembleInterval(
        mean=mean,
        mc_low=max(bounds[0], mean - Z95 * pooled_se),
        mc_high=min(bounds[1], mean + Z95 * pooled_se),
        low=max(bounds[0], mean - half),
        high=min(bounds[1], mean + half),
        between_share=between / total if total > 0 else math.nan,
        mc_share=within / total if total > 0 else math.nan,
        sets=len(means),
    )
