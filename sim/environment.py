"""The environment week by week: standing conditions, and an episode that comes and goes.

A scenario has **standing conditions** (how often shocks arrive, how large, how fast
things drift) that hold for the whole run, and at most one **episode**: a downturn, a
regulatory crisis or a volatility spell. An episode starts at
``scenario.episode_start_week``, lasts ``episode_weeks`` and then eases back to the
standing conditions over ``recovery_weeks``:

* during it, shocks arrive at ``episode_shock_rate`` with mean size
  ``episode_shock_scale`` and drift is scaled by ``episode_volatility`` (each never
  calmer than the standing value); during the recovery they ease back linearly;
* during it, value potential moves by ``value_trend`` a week and outside options by
  ``outside_option_trend`` (a downturn); during the recovery the market wins back, at
  an even weekly rate, what the episode took (with no recovery the loss stays).

So a severity sets an episode's depth and length, and a ten-year run meets the same
downturn as a three-year one: nothing compounds until the horizon. (Recessions last
about a year and recoveries one to two: NBER business-cycle dates; regulatory
regimes such as a subsidy cut are absorbed in one to three years.) Both engines ask
:class:`MarketPath` for each week's conditions in order, so they see the same numbers.
"""

from __future__ import annotations

from typing import NamedTuple

from sim.params import ScenarioParams


class WeekMarket(NamedTuple):
    """The environment of one week, as the week's context carries it."""

    shock_rate: float  # weekly probability of a shock per alliance
    shock_scale: float  # mean shock size
    volatility: float  # multiplier of every drift this week
    next_volatility: float  # the same for next week (firms start next week as this one closes)
    value_change: float  # relative change of value potential as the week closes
    outside_factor: float  # outside options relative to signing
    trend_level: float  # value potential the market alone would leave, relative to signing


def episode_weight(s: ScenarioParams, t: int) -> float:
    """How far week ``t`` is in the episode: 1 during it, easing linearly to 0 over its
    recovery, 0 before and after (and always 0 for a scenario without an episode)."""
    if s.episode_weeks <= 0 or t < s.episode_start_week:
        return 0.0
    into = t - s.episode_start_week
    if into < s.episode_weeks:
        return 1.0
    eased = into - s.episode_weeks + 1
    if eased <= s.recovery_weeks:
        return 1.0 - eased / (s.recovery_weeks + 1)
    return 0.0


def _eased(standing: float, episode: float, weight: float) -> float:
    """A setting ``weight`` of the way from its standing value to the episode's (never calmer)."""
    if weight == 0.0:
        return standing
    return standing + weight * (max(standing, episode) - standing)


def trend_change(s: ScenarioParams, t: int, trend: float) -> float:
    """The relative change that a trend of ``trend`` a week makes in week ``t``: the trend during
    the episode, then the loss won back evenly (geometrically) over the recovery."""
    if s.episode_weeks <= 0 or trend == 0.0 or t < s.episode_start_week:
        return 1.0
    into = t - s.episode_start_week
    if into < s.episode_weeks:
        return 1.0 + trend
    if into < s.episode_weeks + s.recovery_weeks:
        return (1.0 + trend) ** (-s.episode_weeks / s.recovery_weeks)
    return 1.0


def acts_within(s: ScenarioParams, horizon_weeks: int) -> bool:
    """Whether the scenario's episode (if any) starts before the horizon."""
    return s.episode_weeks > 0 and s.episode_start_week < horizon_weeks


class MarketPath:
    """The environment of a run, week after week (call :meth:`week` for weeks 0, 1, 2, ...)."""

    def __init__(self, scenario: ScenarioParams) -> None:
        self.scenario = scenario
        self.outside_factor = 1.0
        self.trend_level = 1.0

    def volatility(self, t: int) -> float:
        s = self.scenario
        return _eased(s.volatility, s.episode_volatility, episode_weight(s, t))

    def week(self, t: int) -> WeekMarket:
        """Week ``t``'s conditions; the market's levels then move on by the week's trends."""
        s = self.scenario
        weight = episode_weight(s, t)
        value_change = trend_change(s, t, s.value_trend)
        market = WeekMarket(
            shock_rate=_eased(s.shock_rate, s.episode_shock_rate, weight),
            shock_scale=_eased(s.shock_scale, s.episode_shock_scale, weight),
            volatility=self.volatility(t),
            next_volatility=self.volatility(t + 1),
            value_change=value_change,
            outside_factor=self.outside_factor,
            trend_level=self.trend_level,
        )
        self.outside_factor = self.outside_factor * trend_change(s, t, s.outside_option_trend)
        self.trend_level = self.trend_level * value_change
        return market


def market_at(scenario: ScenarioParams, t: int) -> WeekMarket:
    """Week ``t``'s conditions, the market's levels included, replayed from signing."""
    path = MarketPath(scenario)
    for week in range(t):
        path.week(week)
    return path.week(t)
