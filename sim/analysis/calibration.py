"""The reference patterns P1 to P8 of the design brief, measured on the model.

The patterns are practitioner claims about strategic alliances, not data; the
model reads them as calibration targets:

P1  handshake alliances (no governance, no triggers) that fail to meet their
    objectives within three years: about 70% (65 to 75);
P2  formal governance (steering committee, working groups, escalation) against
    a handshake: success about 3.2 times as likely, read as an odds ratio,
    because a probability ratio of 3.2 on a 30% base (96%) would exceed the
    success of the full framework in P4;
P3  regular joint meetings with decision rights against none: mean
    issue-resolution time cut by about 70%;
P4  success with the full framework: complementary about 78%, ecosystem about
    71%, co-opetition about 62%, each within 5 points, in that order;
P5  a controlled pilot against a full launch (committee, complementary): failure
    cut by about 60%;
P6  committee against handshake: reactive person-weeks saved per proactive
    person-week added, about 3 (per week an alliance is open);
P7  handshake failures whose primary cause is measurement misalignment: about 35%;
P8  proactive effort of the full framework: 1.15 to 2.2 person-weeks per
    partner per week open (15 to 20% of a senior leader and 1 to 2 full-time people);
E26 handshake failures within the first 26 weeks: at least 5% (the source's cases
    come near collapse within six months);
P9  handshake alliances over ten years (520 weeks): the yearly failure hazard (failures
    in a year of age over the alliances alive at its start) peaks in year 1 or 2, and
    its mean over years 6 to 10 is at most half the peak year's (the "liability of
    adolescence" of alliances and joint ventures: Fichman and Levinthal 1991; Park and
    Russo 1996; Kogut 1989).

All but P9 are measured on the default market over 156 weeks, under the calm
scenario and a full launch, on cohorts that share one seed (common random
numbers). This module only measures; ``experiments/calibrate.py`` fits.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from sim.analysis.summaries import wilson
from sim.params import SimulationConfig
from sim.results import CohortResult
from sim.runner import run_cohort

TYPES = ("complementary", "ecosystem", "coopetition")


@dataclass(frozen=True)
class Target:
    """A pattern's target and the tolerance it is judged by."""

    pattern: str
    description: str
    target: float
    tolerance: float
    band: bool = False
    """The whole band ``target ± tolerance`` is the target (no pull toward its middle)."""
    margin: float | None = None
    """Share of the tolerance the fit aims inside (None: ``BAND_MARGIN``)."""


TARGETS = (
    Target("P1", "handshake alliances not successful after 3 years", 0.70, 0.05),
    Target("P2", "odds ratio of success, committee vs handshake", 3.2, 0.8),
    Target("P3", "cut in mean resolution time, meetings vs none", 0.70, 0.10),
    Target("P4 complementary", "success with the full framework, complementary", 0.78, 0.05),
    Target("P4 ecosystem", "success with the full framework, ecosystem", 0.71, 0.05),
    Target("P4 coopetition", "success with the full framework, co-opetition", 0.62, 0.05),
    Target("P5", "relative cut in failure, pilot vs full launch (committee)", 0.60, 0.15),
    Target("P6", "reactive effort saved per unit of proactive added, committee vs handshake", 3.0, 1.0),
    Target("P7", "handshake failures caused by measurement misalignment", 0.35, 0.10),
    Target("P8", "proactive person-weeks per partner per week open, full framework", 1.675, 0.525),
    Target("E26", "handshake failures within the first 26 weeks", 0.10, 0.05),
    Target("P9 peak", "year of age in which the handshake failure hazard peaks (10 years)", 1.5, 0.5,
           band=True, margin=1.0),
    Target("P9 late", "handshake hazard in years 6 to 10 against the peak year's", 0.25, 0.25, band=True),
)  # fmt: skip
"""Tolerances: the brief's ranges for P1, P4, P5, P6, P7 and P8 (its strict 1.15 to 2.2);
for P2 and P3, which the brief gives as "about", a quarter of the odds ratio and ten
points of the cut. E26 reads the source's cases that "come near collapse within six
months" as at least 5% of handshake failures in the first 26 weeks, and at most 15%: the
hazard must still rise to a peak later (see :func:`hazard_peak_week`). P9 is two bands:
the peak in year 1 or 2, and the mean hazard of years 6 to 10 at most half the peak's."""


@dataclass(frozen=True)
class Measurement:
    """One pattern measured on the model, with its 95% interval."""

    pattern: str
    value: float
    low: float
    high: float

    def within(self, target: Target) -> bool:
        return abs(self.value - target.target) <= target.tolerance


CohortBuilder = Callable[[list[str]], SimulationConfig]
"""Turns Hydra-style overrides (``governance=full``) into a validated config."""


def pattern_cohorts() -> dict[str, list[str]]:
    """The cohorts the patterns are measured on, as config overrides."""
    cohorts = {
        "handshake": ["governance=handshake", "alliance=complementary"],
        "committee": ["governance=committee", "alliance=complementary"],
        "meetings": ["governance=meetings", "alliance=complementary"],
        "committee pilot": ["governance=committee", "alliance=complementary", "launch=pilot"],
    }
    for kind in TYPES:
        cohorts[f"full {kind}"] = ["governance=full", f"alliance={kind}"]
    cohorts["handshake ten years"] = [
        "governance=handshake",
        "alliance=complementary",
        f"horizon_weeks={TEN_YEARS}",
    ]
    return cohorts


TEN_YEARS = 520
"""P9's horizon, in weeks."""


def apply_overrides(config: SimulationConfig, values: Mapping[str, Any]) -> SimulationConfig:
    """``config`` with dotted parameters (``dynamics.base_issue_rate``) replaced.

    Keys starting with ``alliance.<type>.`` apply only when the cohort is of
    that alliance type (objectives differ by type).
    """
    sections: dict[str, dict[str, Any]] = {}
    for key, value in values.items():
        parts = key.split(".")
        if parts[0] == "alliance" and len(parts) == 3:
            if parts[1] != config.alliance.type.value:
                continue
            parts = [parts[0], parts[2]]
        section, name = parts
        sections.setdefault(section, {})[name] = value
    return config.replace(**sections)


def run_pattern_cohorts(
    build: CohortBuilder, n_alliances: int, seed: int, values: Mapping[str, Any] | None = None
) -> dict[str, CohortResult]:
    """Simulate every cohort the patterns need, all from the same seed."""
    out = {}
    for name, overrides in pattern_cohorts().items():
        config = build([*overrides, f"n_alliances={n_alliances}", f"seed={seed}"])
        if values:
            config = apply_overrides(config, values)
        out[name] = run_cohort(config)
    return out


def _success(result: CohortResult) -> tuple[int, int]:
    table = result.alliances
    return int((table["outcome"] == "success").sum()), len(table)


def measure(cohorts: Mapping[str, CohortResult]) -> dict[str, Measurement]:
    """P1 to P8 and E26 with 95% intervals from the pattern cohorts."""
    out: dict[str, Measurement] = {}
    k, n = _success(cohorts["handshake"])
    lo, hi = wilson(n - k, n)
    out["P1"] = Measurement("P1", (n - k) / n, lo, hi)

    kc, nc = _success(cohorts["committee"])
    a, b, c, d = kc + 0.5, nc - kc + 0.5, k + 0.5, n - k + 0.5  # Haldane correction: no empty cell
    log_or = math.log((a / b) / (c / d))
    se = math.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    z = stats.norm.ppf(0.975)
    out["P2"] = Measurement("P2", math.exp(log_or), math.exp(log_or - z * se), math.exp(log_or + z * se))

    none = cohorts["handshake"].alliances["mean_resolution_weeks"].dropna().to_numpy()
    meet = cohorts["meetings"].alliances["mean_resolution_weeks"].dropna().to_numpy()
    out["P3"] = _cut_in_mean(none, meet)

    for kind in TYPES:
        k, n = _success(cohorts[f"full {kind}"])
        lo, hi = wilson(k, n)
        out[f"P4 {kind}"] = Measurement(f"P4 {kind}", k / n, lo, hi)

    out["P5"] = _relative_cut(_failed(cohorts["committee"]), _failed(cohorts["committee pilot"]), "P5")
    out["P6"] = _effort_trade(cohorts["handshake"].alliances, cohorts["committee"].alliances)
    hs = cohorts["handshake"].alliances
    failed = hs.loc[hs["outcome"] == "failed"]
    k = int((failed["failure_cause"] == "measurement_misalignment").sum())
    lo, hi = wilson(k, len(failed))
    out["P7"] = Measurement("P7", k / max(len(failed), 1), lo, hi)
    full = cohorts["full complementary"].alliances
    rate = (full["effort_proactive"] / (weeks_open(full) * full["n_partners"])).to_numpy(dtype=float)
    lo, hi = _mean_ci(rate)
    out["P8"] = Measurement("P8", float(rate.mean()), lo, hi)
    ends = failed["end_week"].to_numpy(dtype=float)
    k = int((ends <= EARLY_WEEKS).sum())
    lo, hi = wilson(k, len(ends))
    out["E26"] = Measurement("E26", k / max(len(ends), 1), lo, hi)
    out.update(maturing(cohorts["handshake ten years"].alliances))
    return out


def yearly_hazard(table: Any) -> tuple[np.ndarray, np.ndarray]:
    """The yearly failure hazard by age: failures in each year of age over the alliances alive
    at its start (a life table), and those numbers at risk. Years the horizon reaches only."""
    horizon = int(table.attrs.get("horizon_weeks", 156))
    years = horizon // 52
    ends = weeks_open(table).to_numpy(dtype=float)
    failed = (table["outcome"] == "failed").to_numpy()
    hazard, at_risk = np.empty(years), np.empty(years)
    for y in range(years):
        alive = ends > 52 * y
        events = int((failed & alive & (ends <= 52 * (y + 1))).sum())
        at_risk[y] = alive.sum()
        hazard[y] = events / at_risk[y] if at_risk[y] else math.nan
    return hazard, at_risk


def maturing(table: Any) -> dict[str, Measurement]:
    """P9 on a ten-year cohort: the year the hazard peaks, and the mean hazard of years 6 to 10
    over the peak year's, with a 95% interval by the delta method on its log (each year's
    hazard binomial over the alliances at risk)."""
    hazard, at_risk = yearly_hazard(table)
    peak = int(np.nanargmax(hazard))
    late = hazard[5:10]
    late_n = at_risk[5:10]
    ratio = float(late.mean() / hazard[peak])
    var_late = float(np.sum(late * (1 - late) / np.maximum(late_n, 1))) / len(late) ** 2
    var_peak = hazard[peak] * (1 - hazard[peak]) / at_risk[peak]
    z = stats.norm.ppf(0.975)
    se = math.sqrt(var_late / max(late.mean(), 1e-12) ** 2 + var_peak / hazard[peak] ** 2)
    return {
        "P9 peak": Measurement("P9 peak", float(peak + 1), float(peak + 1), float(peak + 1)),
        "P9 late": Measurement("P9 late", ratio, ratio * math.exp(-z * se), ratio * math.exp(z * se)),
    }


EARLY_WEEKS = 26
"""Failures within this age count as early (the source's "within six months")."""


def weeks_open(table: Any) -> Any:
    """Weeks each alliance ran: to its ending, or the whole horizon."""
    horizon = float(table.attrs.get("horizon_weeks", 156))
    return table["end_week"].astype("Float64").fillna(horizon).astype(float)


def _failed(result: CohortResult) -> tuple[int, int]:
    table = result.alliances
    return int((table["outcome"] == "failed").sum()), len(table)


def _relative_cut(before: tuple[int, int], after: tuple[int, int], name: str) -> Measurement:
    """1 - p_after / p_before with a 95% interval from the log risk ratio (Katz)."""
    (k0, n0), (k1, n1) = before, after
    a, c = k1 + 0.5, k0 + 0.5
    ratio = (a / (n1 + 0.5)) / (c / (n0 + 0.5))
    se = math.sqrt(1 / a - 1 / (n1 + 0.5) + 1 / c - 1 / (n0 + 0.5))
    z = stats.norm.ppf(0.975)
    return Measurement(name, 1 - ratio, 1 - ratio * math.exp(z * se), 1 - ratio * math.exp(-z * se))


def _mean_ci(values: np.ndarray) -> tuple[float, float]:
    se = values.std(ddof=1) / math.sqrt(len(values))
    z = stats.norm.ppf(0.975)
    return float(values.mean() - z * se), float(values.mean() + z * se)


def _effort_trade(handshake: Any, committee: Any) -> Measurement:
    """Reactive person-weeks saved per proactive person-week added, per week each alliance is
    open (a design that keeps alliances alive longer is not charged for the extra weeks);
    the 95% interval by the delta method on the ratio of the two differences."""
    per_week = {}
    for name, table in (("handshake", handshake), ("committee", committee)):
        weeks = weeks_open(table)
        per_week[name] = (
            (table["effort_reactive"] / weeks).to_numpy(dtype=float),
            (table["effort_proactive"] / weeks).to_numpy(dtype=float),
        )
    (r0, p0), (r1, p1) = per_week["handshake"], per_week["committee"]
    saved, added = r0.mean() - r1.mean(), p1.mean() - p0.mean()
    if added <= 0:
        return Measurement("P6", math.nan, math.nan, math.nan)
    ratio = saved / added
    var_saved = r0.var(ddof=1) / len(r0) + r1.var(ddof=1) / len(r1)
    var_added = p0.var(ddof=1) / len(p0) + p1.var(ddof=1) / len(p1)
    se = math.sqrt(var_saved + ratio**2 * var_added) / added
    z = stats.norm.ppf(0.975)
    return Measurement("P6", ratio, ratio - z * se, ratio + z * se)


def hazard_by_age(table: Any, width: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Failures per alliance-week at risk, in bins of ``width`` weeks of age: bin starts and
    hazards. Every alliance is at risk from week 0 until it ends or the horizon."""
    horizon = int(table.attrs.get("horizon_weeks", 156))
    ends = weeks_open(table).to_numpy(dtype=float)
    failed = (table["outcome"] == "failed").to_numpy()
    starts = np.arange(0, horizon, width)
    hazard = np.empty(len(starts))
    for j, s in enumerate(starts):
        at_risk = np.clip(ends - s, 0, width).sum()
        events = int((failed & (ends > s) & (ends <= s + width)).sum())
        hazard[j] = events / at_risk if at_risk > 0 else math.nan
    return starts, hazard


def hazard_peak_week(table: Any, width: int = 4) -> tuple[int, float, float]:
    """Age (start of the ``width``-week bin) at which the failure hazard peaks, the peak, and
    the mean hazard of the last quarter of the horizon: a hazard that rises to a peak and then
    falls has its peak after the first bin and above that late level."""
    starts, hazard = hazard_by_age(table, width)
    j = int(np.nanargmax(hazard))
    late = float(np.nanmean(hazard[int(len(hazard) * 0.75) :]))
    return int(starts[j]), float(hazard[j]), late


def _cut_in_mean(before: np.ndarray, after: np.ndarray) -> Measurement:
    """1 - mean(after)/mean(before), with a delta-method 95% interval on the log ratio."""
    m0, m1 = before.mean(), after.mean()
    se_log = math.sqrt(before.var(ddof=1) / (len(before) * m0**2) + after.var(ddof=1) / (len(after) * m1**2))
    z = stats.norm.ppf(0.975)
    ratio = m1 / m0
    return Measurement("P3", 1 - ratio, 1 - ratio * math.exp(z * se_log), 1 - ratio * math.exp(-z * se_log))


BAND_MARGIN = 0.6
"""Share of each tolerance the fit aims inside; the rest is left for the sampling error of a
fresh seed (about 0.3 of P1's tolerance at 4,000 alliances per cohort)."""


def loss(measured: Mapping[str, Measurement]) -> float:
    """Sum of squared misses in units of each pattern's tolerance, plus a steep penalty for a
    miss beyond ``BAND_MARGIN`` of its tolerance (so that no pattern is traded away to the edge of
    its band for the others) and a penalty if the P4 order (complementary > ecosystem >
    co-opetition) is broken."""
    total = 0.0
    for target in TARGETS:
        value = measured[target.pattern].value
        if not math.isfinite(value):
            total += 1e3
            continue
        if target.pattern == "P2":  # ratios are compared on the log scale
            miss = (math.log(max(value, 1e-6)) - math.log(target.target)) / (target.tolerance / target.target)
        else:
            miss = (value - target.target) / target.tolerance
        margin = BAND_MARGIN if target.margin is None else target.margin
        if not target.band:
            total += miss * miss
        total += 10.0 * max(0.0, abs(miss) - margin) ** 2
    p4 = [measured[f"P4 {kind}"].value for kind in TYPES]
    total += 10.0 * sum(max(0.0, later - earlier + 0.01) for earlier, later in itertools.pairwise(p4))
    return total


RATIO_PATTERNS = ("P2", "P6", "P8", "P9 peak", "P9 late")
"""Patterns that are ratios or rates, printed as numbers rather than percentages."""


def pattern_table(measured: Mapping[str, Measurement]) -> str:
    """Each pattern's target against the simulated value with its 95% interval (Markdown)."""
    lines = [
        "| pattern | what | target | simulated (95% CI) | within tolerance |",
        "|---|---|---|---|---|",
    ]
    for t in TARGETS:
        m = measured[t.pattern]
        ratio = t.pattern in RATIO_PATTERNS
        fmt = (lambda x: f"{x:.2f}") if ratio else (lambda x: f"{100 * x:.1f}%")
        tol = f"± {t.tolerance:.2g}" if ratio else f"± {100 * t.tolerance:.0f} pts"
        wanted = (
            f"{fmt(t.target - t.tolerance)} to {fmt(t.target + t.tolerance)}"
            if t.band
            else f"{fmt(t.target)} {tol}"
        )
        if t.pattern == "P9 peak":
            wanted, simulated = "year 1 or 2", f"year {m.value:.0f}"
        else:
            simulated = f"{fmt(m.value)} ({fmt(m.low)} to {fmt(m.high)})"
        lines.append(
            f"| {t.pattern} | {t.description} | {wanted} | {simulated} | {'yes' if m.within(t) else 'NO'} |"
        )
    return "\n".join(lines)
