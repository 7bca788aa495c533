"""The stress report's numbers in words a manager reads: shares as "about 1 in 20", sentences
that stay grammatical at 0% and 100%, conditions in plain units, and the glossary.
"""

from __future__ import annotations

import math

DENOMINATORS = (2, 3, 4, 5, 10, 20, 50, 100, 200, 1000)
"""The "N in D" forms a share may take, smallest first (the first that is close enough wins)."""
CLOSE_ENOUGH = 0.1
"""How far (relative) "N in D" may be from the share it stands for."""


def share_words(p: float, zero: str = "none") -> str:
    """A share as a count a reader pictures: 0.95 -> "19 in 20", 0.75 -> "3 in 4",
    0.055 -> "about 1 in 20", 0.015 -> "3 in 200". ``zero`` is what 0 reads as ("none", "no")."""
    if not math.isfinite(p):
        return "an unknown share"
    if p <= 0.0:
        return zero
    if p >= 1.0:
        return "all"
    if p < 0.001:
        return "fewer than 1 in 1,000"
    if p > 0.999:
        return "more than 999 in 1,000"
    for d in DENOMINATORS:
        n = round(p * d)
        if n < 1 or n >= d:
            continue
        if abs(n / d - p) <= CLOSE_ENOUGH * min(p, 1.0 - p):
            exact = abs(n / d - p) < 1e-9
            return f"{'' if exact else 'about '}{n:,} in {d:,}"
    n = round(p * 1000)
    return f"about {n:,} in 1,000"


def capitalised(text: str) -> str:
    """The sentence with its first letter upper-case (the rest as written)."""
    return text[:1].upper() + text[1:]


def sentence(text: str) -> str:
    """A clause as a sentence: capitalised and ending with a full stop."""
    text = capitalised(text.strip())
    return text if text.endswith((".", "!", "?")) else text + "."


def years(weeks: int) -> str:
    """A horizon in words: "three years", "26 weeks", "1.5 years"."""
    words = {
        1: "one year",
        2: "two years",
        3: "three years",
        4: "four years",
        5: "five years",
        10: "ten years",
    }
    y = weeks / 52
    if abs(y - round(y)) < 1e-9 and round(y) in words:
        return words[round(y)]
    if weeks < 104:
        return f"{weeks} weeks"
    return f"{y:g} years"


def points(value: float | None, signed: bool = True) -> str:
    """A change in a probability, in percentage points ("-1.3 pts")."""
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{100 * value:+.1f} pts" if signed else f"{100 * value:.1f} pts"


def percent(value: float | None) -> str:
    """A probability as a percentage, with a decimal below 10% (2% and 1.5% differ for a manager)."""
    if value is None or not math.isfinite(value):
        return "n/a"
    if 0.0 < value < 0.1:
        return f"{100 * value:.1f}%"
    return f"{value:.0%}"


def money(amount: float | None, currency: str) -> str:
    """An amount of money, rounded as a budget is ("EUR 12,300", "EUR 205")."""
    if amount is None or not math.isfinite(amount):
        return "n/a"
    rounded = round(amount, -2) if abs(amount) >= 10_000 else round(amount)
    return f"{currency} {rounded + 0:,.0f}"


def person_weeks(value: float | None, signed: bool = False) -> str:
    """Effort in person-weeks, with two decimals below one (a day is 0.2)."""
    if value is None or not math.isfinite(value):
        return "n/a"
    digits = 2 if abs(value) < 1 else 1
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


CHANCE_FEATURES = ("scenario.shock_rate", "dynamics.contact_hazard")
"""Conditions that are weekly chances: written as percentages."""


def condition_value(feature: str, value: float) -> str:
    """A scenario-discovery bound in the units a reader knows."""
    if feature in CHANCE_FEATURES:
        return f"{100 * value:.2g}%"
    if feature == "scenario.value_trend":
        return f"{100 * value:+.2g}%"
    return f"{value:.2g}"


GLOSSARY: tuple[tuple[str, str], ...] = (
    ("failure", "a partner walks out or trust collapses before the horizon (the alliance ends unplanned)"),
    ("success", "the alliance meets the objectives each partner set by the horizon"),
    ("underperforming", "still running at the horizon, but short of the objectives"),
    ("terminated", "ended deliberately by the partners, under the charter's termination criteria or by "
     "agreement, without a walk-out"),
    ("95% interval", "the range the true figure lies in with 95% confidence, given the simulated "
     "alliances, the charter's ranges and the spread of the calibrated model"),
    ("pts (percentage points)", "the difference between two percentages: 5% to 3% is -2 pts"),
    ("paired", "compared on the same simulated alliances under the same shocks, so chance cancels out"),
    ("person-week", "one person's working week; effort is summed over all partners, per alliance"),
    ("one-off effort", "effort to set a clause up (drafting, agreeing, setting up a committee)"),
    ("recurring effort", "effort to keep a clause running, summed over the horizon"),
    ("efficient frontier", "the changes for which no other change cuts failure more for the same or "
     "less effort"),
    ("bundle", "two or three clause changes made together"),
    ("stressor", "a named adverse event or condition the charter is tested against"),
    ("health check", "a periodic review of the relationship's health index, which can open a "
     "renegotiation"),
    ("key contact", "the person on each side the relationship rests on"),
    ("institutionalisation", "how far the relationship rests on processes and many contacts rather "
     "than one key contact"),
    ("Monte Carlo draw", "one complete set of assumptions: a value for each of the charter's ranges "
     "and one calibrated parameter set; every comparison is made within draws"),
)  # fmt: skip
"""Every term the report uses that a manager may not know, in the order the report uses them."""
