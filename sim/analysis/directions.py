"""The directions the model must show without being told numbers, read from study results.

Each check compares outcome indicators of the *same* alliances (same seed in
every cell) across cells, so its 95% interval is a paired t interval on
per-alliance differences; a direction holds when that interval excludes zero
on the documented side.

- a controlled pilot lowers failure against a full launch (``pilot_vs_full``);
- adaptation triggers help more as shocks grow (``triggers_vs_shocks``): the
  drop in failure from trigger clauses is larger at the largest shock size
  than at the smallest (a difference in differences);
- governance helps more as volatility grows (``governance_vs_volatility``):
  the drop in failure from formal governance is larger in the volatile
  environment than in the calm one;
- past some intensity extra structure costs more than it saves
  (``governance_intensity``): success rises from a handshake to some
  intermediate level of structure and falls again at the heaviest level.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from statsmodels.stats.weightstats import DescrStatsW


@dataclass(frozen=True)
class Effect:
    """A paired mean difference with its 95% interval."""

    label: str
    mean: float
    low: float
    high: float
    pairs: int

    @property
    def positive(self) -> bool:
        return self.low > 0.0

    @property
    def negative(self) -> bool:
        return self.high < 0.0

    def __str__(self) -> str:
        return f"{self.label}: {100 * self.mean:+.1f} pts (95% CI {100 * self.low:+.1f} to {100 * self.high:+.1f}, {self.pairs} pairs)"


def _indicator(runs: pd.DataFrame, where: dict[str, str], outcome: str) -> pd.Series:
    mask = np.logical_and.reduce([runs[k].astype(str) == str(v) for k, v in where.items()])
    cell = runs.loc[mask].set_index("alliance_id")
    if cell.index.has_duplicates:
        raise ValueError(f"cell {where} is not unique: add the other swept keys")
    return (cell["outcome"] == outcome).astype(float)


def paired_effect(values: pd.Series, label: str) -> Effect:
    stats = DescrStatsW(values.to_numpy())
    low, high = stats.tconfint_mean() if stats.std > 0 else (stats.mean, stats.mean)
    return Effect(label, float(stats.mean), float(low), float(high), len(values))


def difference(runs: pd.DataFrame, a: dict[str, str], b: dict[str, str], outcome: str = "failed") -> Effect:
    """Mean of (indicator in cell ``a``) - (indicator in cell ``b``), alliance by alliance."""
    x, y = _indicator(runs, a, outcome), _indicator(runs, b, outcome)
    x, y = x.align(y, join="inner")
    return paired_effect(x - y, f"{outcome} {a} - {b}")


def difference_in_differences(
    runs: pd.DataFrame,
    treated: dict[str, str],
    control: dict[str, str],
    high: dict[str, str],
    low: dict[str, str],
    outcome: str = "failed",
) -> Effect:
    """(control - treated) at ``high`` minus (control - treated) at ``low``, per alliance.

    With ``outcome="failed"`` a positive value means the treatment cuts failure
    by more at ``high`` than at ``low``.
    """
    parts = []
    for level in (high, low):
        t = _indicator(runs, {**treated, **level}, outcome)
        c = _indicator(runs, {**control, **level}, outcome)
        t, c = t.align(c, join="inner")
        parts.append(c - t)
    hi, lo = parts[0].align(parts[1], join="inner")
    return paired_effect(hi - lo, f"{outcome} drop from {treated} at {high} minus at {low}")


def evaluate_check(runs: pd.DataFrame, check: dict) -> tuple[Effect, bool]:
    """Evaluate one declared check of a study (see ``experiments/*.yaml``, ``study.checks``).

    ``kind: difference`` compares cell ``a`` with cell ``b``; ``kind: did`` is a
    difference in differences (``treated``/``control`` at ``high``/``low``).
    ``for_each`` names a swept key whose values are pooled: each alliance under
    each value is one pair. ``expect`` is ``positive`` or ``negative``.
    """
    kind = check.get("kind", "difference")
    outcome = check.get("outcome", "failed")
    groups = (
        [{}]
        if not check.get("for_each")
        else [{check["for_each"]: v} for v in dict.fromkeys(runs[check["for_each"]].astype(str))]
    )
    pieces = []
    for group in groups:
        if kind == "difference":
            x = _indicator(runs, {**check["a"], **group}, outcome)
            y = _indicator(runs, {**check["b"], **group}, outcome)
            x, y = x.align(y, join="inner")
            pieces.append(x - y)
        elif kind == "did":
            parts = []
            for level in (check["high"], check["low"]):
                t = _indicator(runs, {**check["treated"], **level, **group}, outcome)
                c = _indicator(runs, {**check["control"], **level, **group}, outcome)
                t, c = t.align(c, join="inner")
                parts.append(c - t)
            hi, lo = parts[0].align(parts[1], join="inner")
            pieces.append(hi - lo)
        else:
            raise ValueError(f"study check kind = {kind!r}: allowed kinds are difference, did")
    effect = paired_effect(pd.concat(pieces, ignore_index=True), check.get("label", kind))
    passed = effect.positive if check.get("expect") == "positive" else effect.negative
    return effect, passed


def _points(mean: float, low: float, high: float) -> str:
    if any(math.isnan(v) for v in (mean, low, high)):
        return "n/a (no pairs: a cell it compares did not finish)"
    return f"{100 * mean:+.1f} pts ({100 * low:+.1f} to {100 * high:+.1f})"


def checks_table(runs: pd.DataFrame, checks: list[dict]) -> tuple[str, bool]:
    """Markdown table of a study's declared checks, and whether all of them hold."""
    lines = ["| check | effect (95% CI) | pairs | expected | holds |", "|---|---|---|---|---|"]
    ok = True
    for check in checks:
        effect, passed = evaluate_check(runs, check)
        ok = ok and passed
        lines.append(
            f"| {effect.label} | {_points(effect.mean, effect.low, effect.high)} | {effect.pairs} | {check.get('expect')} | {'yes' if passed else 'NO'} |"
        )
    return "\n".join(lines), ok
