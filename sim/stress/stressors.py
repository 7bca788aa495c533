"""The battery of named stressors, the single clause changes and the sampled futures.

Each is a set of dotted model parameters applied over the charter's own. Every
one of them runs the same alliances from the same seed as the charter as
written (common random numbers: the model's draws do not depend on these
settings), so differences are paired.

Severities are graded mild, moderate and severe. Their sizes follow the
project's named scenarios and situations (``configs/scenario/``,
``experiments/situation_*.yaml``): the moderate grade is the situation's value.
A stressor never makes the environment calmer than the charter's own: each
setting is the larger (or, for trends, the more negative) of the two.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.levers import switches
from sim.params import MeetingCadence, SimulationConfig
from sim.stress.mapping import NEVER_SHOCK
from sim.vocabulary import launch_week

SEVERITIES = ("mild", "moderate", "severe")


@dataclass(frozen=True)
class Stressor:
    """A named stress: dotted settings for each severity (larger = harsher; a trend is harsher
    the more negative it is). An *episode* stressor (a volatility spell, a regulatory crisis, a
    downturn) sets the scenario's episode (:mod:`sim.environment`): it starts when the
    alliance goes live and its severity sets its depth and its length, so a long horizon does
    not make it harsher by compounding."""

    name: str
    label: str
    levels: dict[str, tuple[float, float, float]]
    """parameter -> its value at mild, moderate, severe."""
    episode: bool = False
    recovery_weeks: int = 26

    def overrides(self, base: SimulationConfig, severity: str) -> dict[str, Any]:
        i = SEVERITIES.index(severity)
        out: dict[str, Any] = {}
        for key, values in self.levels.items():
            current = _get(base, key)
            out[key] = min(current, values[i]) if key.endswith("_trend") else max(current, values[i])
        if "scenario.regulatory_share" in out:
            # shocks of the stressor's kind: the rest of the shock mix shrinks to fit
            out["scenario.market_share_share"] = min(
                _get(base, "scenario.market_share_share"), 1.0 - out["scenario.regulatory_share"]
            )
        if self.episode:
            s = base.scenario
            if s.episode_weeks > 0:  # the charter's own episode, made no milder
                out["scenario.episode_start_week"] = min(s.episode_start_week, launch_week(base))
                out["scenario.recovery_weeks"] = max(s.recovery_weeks, self.recovery_weeks)
            else:
                out["scenario.episode_start_week"] = launch_week(base)
                out["scenario.recovery_weeks"] = self.recovery_weeks
        return out

    def note(self, base: SimulationConfig, severity: str) -> str:
        """Why this stressor cannot change the charter's results, in words ('' when it can)."""
        overrides = self.overrides(base, severity)
        if self.episode and overrides["scenario.episode_start_week"] >= base.horizon_weeks:
            return "cannot act within the horizon: the alliance goes live only at its end"
        if all(_get(base, key) == value for key, value in overrides.items()):
            return "already at this level or harsher in the charter"
        return ""


CALM: dict[str, float] = {
    "scenario.shock_rate": 0.01,
    "scenario.shock_scale": 0.08,
    "scenario.volatility": 0.8,
    "scenario.episode_weeks": 0,
    "scenario.value_trend": 0.0,
    "scenario.outside_option_trend": 0.0,
}
"""The calm scenario (configs/scenario/calm.yaml): the reference every stressor is read against."""

STRESSORS: tuple[Stressor, ...] = (
    Stressor("volatility", "a spell of market volatility", {
        "scenario.episode_volatility": (1.2, 1.6, 2.4), "scenario.episode_shock_rate": (0.02, 0.04, 0.06),
        "scenario.episode_weeks": (26, 52, 104)}, episode=True),
    Stressor("regulatory_shock", "a regulatory or subsidy crisis", {
        "scenario.episode_shock_rate": (0.015, 0.015, 0.02), "scenario.episode_shock_scale": (0.15, 0.25, 0.4),
        "scenario.regulatory_share": (0.8, 0.8, 0.8), "scenario.episode_weeks": (26, 52, 78)}, episode=True),
    Stressor("downturn", "an economic downturn", {
        "scenario.value_trend": (-0.002, -0.003, -0.004),
        "scenario.outside_option_trend": (-0.001, -0.0015, -0.002),
        "scenario.episode_weeks": (26, 52, 78)}, episode=True, recovery_weeks=52),
    Stressor("key_contact_loss", "a key contact leaving", {"dynamics.contact_hazard": (0.01, 0.02, 0.04)}),
    Stressor("strategic_drift", "strategic drift of the partners", {"dynamics.strategy_drift": (0.02, 0.03, 0.05)}),
    Stressor("culture_clash", "a culture clash", {"market.culture_spread": (0.35, 0.5, 0.7)}),
    Stressor("measurement_divergence", "diverging success measures", {
        "dynamics.measurement_spread": (0.6, 0.8, 1.0)}),
)  # fmt: skip

FUTURES: dict[str, tuple[float, float]] = {
    "scenario.shock_scale": (0.05, 0.5),
    "scenario.shock_rate": (0.005, 0.05),
    "scenario.volatility": (0.5, 2.5),
    "scenario.value_trend": (-0.004, 0.0),
    "dynamics.contact_hazard": (0.002, 0.04),
    "dynamics.strategy_drift": (0.005, 0.05),
    "market.culture_spread": (0.1, 0.7),
    "dynamics.measurement_spread": (0.1, 1.0),
}
"""The uncertainties scenario discovery samples jointly (uniform), with the stressors' ranges."""

DESCRIBE: dict[str, str] = {
    "scenario.shock_scale": "the mean shock (subsidy, regulation, market, technology) is",
    "scenario.shock_rate": "the weekly chance of a shock is",
    "scenario.volatility": "market volatility (drift multiplier) is",
    "scenario.value_trend": "the weekly change in the alliance's value (a downturn) is",
    "scenario.episode_weeks": "the adverse spell's length (volatility, crisis or downturn) in weeks is",
    "dynamics.contact_hazard": "the weekly chance a key contact leaves is",
    "dynamics.strategy_drift": "strategic drift (weekly s.d.) is",
    "market.culture_spread": "the distance between the partners' cultures (0 alike, 1 far apart) is",
    "market.strategy_spread": "the distance between the partners' priorities (0 alike, 1 far apart) is",
    "dynamics.measurement_spread": "measurement misalignment (at most) is",
    "market.capacity_sd": "the spread of the partners' sizes (0 for equals) is",
    "market.outside_option_mean": "what a partner would earn alone, relative to its weekly value from the alliance, is",
    "dynamics.initial_institutionalisation": "institutionalisation at signing is",
    "alliance.complementarity": "complementarity is",
    "alliance.capability_overlap": "capability overlap is",
    "alliance.integration_complexity": "integration complexity is",
    "triggers.shock_threshold": "the shock trigger threshold is",
    "triggers.health_threshold": "the health trigger threshold is",
}
"""Scenario-discovery features in words (a feature not listed is named by its key)."""


FUTURE_DOWNTURN: dict[str, int] = {"scenario.episode_weeks": 52, "scenario.recovery_weeks": 52}
"""A future's value trend is a downturn of a year from signing, won back over the next year."""


def sample_future(rng: np.random.Generator) -> dict[str, float]:
    """One future: every uncertainty of ``FUTURES`` drawn at once."""
    future: dict[str, float] = {
        key: float(lo + (hi - lo) * rng.random()) for key, (lo, hi) in FUTURES.items()
    }
    return {**future, **FUTURE_DOWNTURN}


def _get(config: SimulationConfig, key: str) -> Any:
    value: Any = config
    for part in key.split("."):
        value = getattr(value, part)
    return value.value if hasattr(value, "value") else value


get_setting = _get


@dataclass(frozen=True)
class ClauseChange:
    """One clause added, removed or tightened."""

    change: str
    overrides: dict[str, Any]


Bool = tuple[str, str, str]
"""(model setting, what adding says, what removing says)"""

SWITCHES: tuple[Bool, ...] = tuple(
    (f"governance.{lever.name}", lever.adding, lever.removing) for lever in switches() if lever.adding
)
"""The on-off clauses a charter can add or remove, as the lever registry words them."""


def config_file(group: str, option: str) -> dict[str, Any]:
    """One option of a config group as written in ``configs/`` (no composition needed)."""
    import yaml

    from sim.defaults import CONFIG_DIR

    return dict(yaml.safe_load((CONFIG_DIR / group / f"{option}.yaml").read_text()))


THRESHOLDS = ("shock_threshold", "health_threshold", "misalignment_threshold")


def trigger_thresholds(option: str) -> dict[str, float]:
    """The thresholds of configs/triggers/<option>.yaml (standard: the source's 15% subsidy clause)."""
    values = config_file("triggers", option)
    return {k: float(values[k]) for k in THRESHOLDS}


FASTER: dict[str, str] = {"quarterly": "monthly", "monthly": "biweekly"}


def clause_changes(config: SimulationConfig) -> list[ClauseChange]:
    """Every single clause the charter could add, remove or tighten, given what it has."""
    g, tr = config.governance, config.triggers
    out: list[ClauseChange] = []
    cadence = g.meeting_cadence
    if cadence is MeetingCadence.NONE:
        out.append(ClauseChange("add bi-weekly meetings", {"governance.meeting_cadence": "biweekly"}))
    else:
        out.append(
            ClauseChange(f"remove the {cadence.value} meetings", {"governance.meeting_cadence": "none"})
        )
        if cadence.value in FASTER:
            faster = FASTER[cadence.value]
            out.append(ClauseChange(f"tighten meetings to {faster}", {"governance.meeting_cadence": faster}))
    for key, add, remove in SWITCHES:
        has = bool(_get(config, key))
        out.append(ClauseChange(remove if has else add, {key: not has}))
    if g.escalation_path and g.escalation_age_weeks > 1:
        age = max(1, g.escalation_age_weeks // 2)
        out.append(
            ClauseChange(
                f"tighten escalation to issues {age} weeks old", {"governance.escalation_age_weeks": age}
            )
        )
    if g.health_check_weeks == 0:
        out.append(ClauseChange("add quarterly health checks", {"governance.health_check_weeks": 13}))
    else:
        out.append(ClauseChange("remove the health checks", {"governance.health_check_weeks": 0}))
        if g.health_check_weeks > 4:
            weeks = max(4, g.health_check_weeks // 2)
            out.append(
                ClauseChange(
                    f"tighten health checks to every {weeks} weeks", {"governance.health_check_weeks": weeks}
                )
            )
    if config.alliance.type.value == "ecosystem":
        out.append(
            ClauseChange("remove the orchestration role", {"governance.orchestrator": False})
            if g.orchestrator
            else ClauseChange("add an orchestration role", {"governance.orchestrator": True})
        )
    if tr.enabled:
        out.append(
            ClauseChange(
                "remove the adaptation triggers",
                {"governance.adaptation_triggers": False, "triggers.enabled": False},
            )
        )
        sensitive = trigger_thresholds("sensitive")
        tighter = {f"triggers.{k}": _tighter(k, getattr(tr, k), v) for k, v in sensitive.items()}
        if any(tighter[f"triggers.{k}"] != getattr(tr, k) for k in sensitive):
            out.append(ClauseChange("tighten the adaptation triggers", tighter))
    else:
        standard = {f"triggers.{k}": v for k, v in trigger_thresholds("standard").items()}
        out.append(
            ClauseChange(
                "add adaptation triggers",
                {"governance.adaptation_triggers": True, "triggers.enabled": True, **standard},
            )
        )
    if config.launch.mode.value == "full":
        out.append(ClauseChange("launch as a controlled pilot", {"launch.mode": "pilot"}))
    else:
        out.append(ClauseChange("launch at full scale", {"launch.mode": "full"}))
    if g.sunset_week > 0:
        out.append(ClauseChange("remove the sunset", {"governance.sunset_week": 0}))
    return out  # fmt: skip


def _tighter(name: str, current: float, sensitive: float) -> float:
    """A watched signal's threshold moved toward firing sooner; a signal not watched stays unwatched.

    Health fires below its threshold (0: never); shocks and misalignment above theirs."""
    if name == "health_threshold":
        return current if current <= 0.0 else max(current, sensitive)
    if name == "misalignment_threshold":
        return current if current >= 1.0 else min(current, sensitive)
    return current if current >= NEVER_SHOCK else min(current, sensitive)
