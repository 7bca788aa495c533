"""What to change before signing: clause changes and bundles ranked by what they buy for their
effort, the efficient frontier, the recommendation in one sentence, and which of the charter's
own ranges matter.

Every comparison is paired: the options ran the same alliances under the same shocks as the
charter as written, draw by draw (common random numbers), so a difference between two options
is read from the alliances whose fate differs between them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim.stress.runner import StressResult
from sim.stress.words import money, percent, person_weeks, points, sentence

Key = tuple[str, str, str]
"""A run across draws: (kind, name, severity)."""
CHARTER: Key = ("charter", "charter as written", "")

FREE_EFFORT = 0.05
"""Person-weeks per alliance below which a change is as good as free (the effort figures'
resolution: a few hours over the horizon)."""
Z95 = 1.959963984540054


def paired(result: StressResult, this: Key, reference: Key = CHARTER) -> dict[str, float]:
    """The change in failure probability from ``reference`` to ``this``, paired draw by draw.

    The interval is the wider of the draws' t interval and the paired (McNemar-type) interval
    of the pooled alliances: when every draw moves by the same few alliances, the draws alone
    would claim a certainty their few discordant alliances do not carry."""
    from sim.stress.analysis import interval

    draws = sorted(k[3] for k in result.failed if k[:3] == this and (*reference, k[3]) in result.failed)
    if not draws:
        return {"estimate": math.nan, "low": math.nan, "high": math.nan}
    worse = better = total = 0
    per_draw = []
    for k in draws:
        a, b = result.failed[(*this, k)], result.failed[(*reference, k)]
        worse += int(np.sum(a & ~b))
        better += int(np.sum(b & ~a))
        total += len(a)
        per_draw.append(int(np.sum(a)) / len(a) - int(np.sum(b)) / len(b))
    by_draws = interval(per_draw)
    diff = (worse - better) / total
    se = math.sqrt(max(worse + better - (worse - better) ** 2 / total, 0.0)) / total
    return {
        "estimate": by_draws["estimate"],
        "low": min(by_draws["low"], diff - Z95 * se),
        "high": max(by_draws["high"], diff + Z95 * se),
    }


def unchanged(result: StressResult, this: Key, reference: Key = CHARTER) -> bool:
    """Whether the same alliances failed in every draw of ``this`` as of ``reference``."""
    keys = [k for k in result.failed if k[:3] == this]
    return bool(keys) and all(
        np.array_equal(result.failed[k], result.failed.get((*reference, k[3]), np.array([]))) for k in keys
    )


def verdict(delta: dict[str, float]) -> str:
    return "helps" if delta["high"] < 0 else "hurts" if delta["low"] > 0 else "no clear effect"


@dataclass(frozen=True)
class Costing:
    """What a person-week costs, when the charter says (``budget``)."""

    per_person_week: float | None
    currency: str

    def of(self, person_weeks: float) -> float | None:
        return None if self.per_person_week is None else person_weeks * self.per_person_week


def costing(result: StressResult) -> Costing:
    budget = result.charter.budget
    if budget is None:
        return Costing(None, "")
    return Costing(budget.cost_per_person_week, budget.currency)


def option_rows(result: StressResult, kind: str) -> list[dict[str, Any]]:
    """Every single change (``clause``) or bundle (``bundle``): its paired change in failure,
    its effort (one-off and recurring, paired means) and what it buys per person-week."""
    from sim.stress.analysis import _paired, interval

    runs = result.runs
    charter = runs[runs["kind"] == "charter"]
    cost = costing(result)
    quick = result.plan.rough
    rows = []
    for name in dict.fromkeys(runs.loc[runs["kind"] == kind, "name"]):
        frame = runs[(runs["kind"] == kind) & (runs["name"] == name)]
        delta = paired(result, (kind, name, ""))
        setup = _paired(frame, charter, "effort_setup")["estimate"]
        recurring = _paired(frame, charter, "effort_proactive")
        total = setup + recurring["estimate"]
        cut = -delta["estimate"]
        free = abs(total) < FREE_EFFORT
        row: dict[str, Any] = {
            "change": name,
            "kind": "single" if kind == "clause" else "bundle",
            "parts": name.split(" + "),
            "delta_failure": delta,
            "failure_probability": interval(
                (frame["failed"] / frame["n"]).to_numpy(), (int(frame["failed"].sum()), int(frame["n"].sum()))
            ),
            "effort_person_weeks": total,
            "effort_setup_person_weeks": setup,
            "effort_recurring_person_weeks": recurring["estimate"],
            "effort_person_weeks_interval": recurring,
            "free": bool(free),
            "cut_per_person_week": None if free or total <= 0 or cut <= 0 else cut / total,
            "cost": cost.of(total),
            "cost_setup": cost.of(setup),
            "cost_recurring": cost.of(recurring["estimate"]),
            "verdict": verdict(delta),
            "provisional": quick,
            "delta_success": rate_change(frame, charter, "success"),
            "delta_terminated": rate_change(frame, charter, "terminated"),
        }
        if unchanged(result, (kind, name, "")):
            row["verdict"] = "no effect"
            row["note"] = "It changed no alliance's fate in any draw."
        else:
            row["note"] = ""
        rows.append(row)
    rows.sort(key=lambda r: (r["delta_failure"]["estimate"], r["change"]))
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank
    helping = sorted((r for r in rows if r["verdict"] == "helps"), key=value_order)
    for rank, row in enumerate(helping, 1):
        row["value_rank"] = rank
    for row in rows:
        row.setdefault("value_rank", None)
    return rows


def rate_change(frame: pd.DataFrame, charter: pd.DataFrame, outcome: str) -> dict[str, float]:
    """The paired change in an outcome's share, draw by draw (t interval over the draws)."""
    from sim.stress.analysis import interval

    this = frame.set_index("draw")
    ref = charter.set_index("draw")
    common = this.index.intersection(ref.index)
    diff = this.loc[common, outcome] / this.loc[common, "n"] - ref.loc[common, outcome] / ref.loc[common, "n"]
    return interval(diff.to_numpy())


def value_order(row: dict[str, Any]) -> tuple[float, float, str]:
    """What a change buys for its effort, best first: a change that costs nothing (or saves
    effort) and cuts failure comes first, by its cut; then the cut per person-week."""
    cut = -row["delta_failure"]["estimate"]
    if row["effort_person_weeks"] < FREE_EFFORT:
        return (0.0, -cut, row["change"])
    return (1.0, -cut / row["effort_person_weeks"], row["change"])


def frontier(
    result: StressResult, singles: list[dict[str, Any]], combos: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The efficient frontier of failure against effort: the charter as written, every single
    change and every bundle, each marked whether another option fails less for no more effort."""
    from sim.stress.analysis import _pooled, _rate, interval

    charter = result.runs[result.runs["kind"] == "charter"]
    points_: list[dict[str, Any]] = [
        {
            "change": "charter as written",
            "kind": "charter",
            "effort_person_weeks": 0.0,
            "failure": interval(_rate(charter).to_numpy(), _pooled(charter))["estimate"],
            "verdict": "",
        }
    ]
    points_ += [
        {
            "change": r["change"],
            "kind": r["kind"],
            "effort_person_weeks": r["effort_person_weeks"],
            "failure": r["failure_probability"]["estimate"],
            "verdict": r["verdict"],
        }
        for r in [*singles, *combos]
    ]
    for p in points_:
        p["on_frontier"] = not any(
            q is not p
            and q["effort_person_weeks"] <= p["effort_person_weeks"] + 1e-12
            and q["failure"] <= p["failure"] + 1e-12
            and (
                q["effort_person_weeks"] < p["effort_person_weeks"] - 1e-12
                or q["failure"] < p["failure"] - 1e-12
            )
            for q in points_
        )
    points_.sort(key=lambda p: (p["effort_person_weeks"], p["failure"], p["change"]))
    return points_


def ranking(rows: list[dict[str, Any]], quick: bool) -> dict[str, Any]:
    """Whether the order of the single changes at the top is settled: the first change's
    interval must not overlap the second's."""
    if len(rows) < 2:
        return {"settled": True, "overlapping": [], "warning": ""}
    top = rows[0]["delta_failure"]
    overlapping = [
        r["change"] for r in rows[1:] if r["delta_failure"]["low"] <= top["high"] and r["verdict"] != "hurts"
    ]
    settled = not overlapping
    warning = ""
    if not settled:
        n = len(overlapping) + 1
        warning = (
            f"The order of the first {n} clause changes is not settled: their 95% intervals overlap, "
            "so any of them may cut failure most."
        )
        if quick:
            warning += (
                " This is a quick report: its verdicts are provisional, and the default report "
                "(without --quick) may rank them differently. Run it before deciding."
            )
    return {"settled": settled, "overlapping": overlapping, "warning": warning}


def recommendation(
    result: StressResult,
    singles: list[dict[str, Any]],
    combos: list[dict[str, Any]],
    frontier_: list[dict[str, Any]],
    settled: bool,
) -> dict[str, Any]:
    """What to change before signing, what it costs and how sure we are, in one sentence (and
    the numbers behind it); says so when no change is clearly better than the charter."""
    cost = costing(result)
    on = {p["change"] for p in frontier_ if p["on_frontier"]}
    helping = [r for r in [*singles, *combos] if r["verdict"] == "helps"]
    charter_p = next((p["failure"] for p in frontier_ if p["kind"] == "charter"), math.nan)
    quick = result.plan.rough
    if not helping:
        options = sorted([*singles, *combos], key=lambda r: r["delta_failure"]["estimate"])
        best = options[0] if options else None
        text = "No clause change is clearly better than the charter as written"
        if best is not None:
            d = best["delta_failure"]
            text += (
                f": the most promising, to {best['change']}, changes failure by {points(d['estimate'])} "
                f"(95% interval {points(d['low'])} to {points(d['high'])}), within the uncertainty"
            )
        text = sentence(text) + " Sign it as written, or look for what the model does not cover."
        return {
            "change": None,
            "kind": None,
            "parts": [],
            "delta_failure": None,
            "effort_person_weeks": None,
            "cost": None,
            "largest_cut": None,
            "saving": saving(singles, cost),
            "sentence": text,
            "settled": settled,
        }
    candidates = [r for r in helping if r["change"] in on] or helping
    best = min(candidates, key=value_order)
    largest = min(candidates, key=lambda r: r["delta_failure"]["estimate"])
    text = describe_option(best, charter_p, cost, lead="Before signing, ")
    further = None
    if largest is not best:
        gain = paired(result, (_kind(largest), largest["change"], ""), (_kind(best), best["change"], ""))
        if gain["high"] < 0:
            further = largest
            extra = largest["effort_person_weeks"] - best["effort_person_weeks"]
            text += (
                f" For the largest cut, {in_words(largest)} instead: failure "
                f"{percent(largest['failure_probability']['estimate'])} "
                f"({points(gain['estimate'])} more, 95% interval {points(gain['low'])} to {points(gain['high'])}) "
                f"for {person_weeks(extra)} more person-weeks{_money(cost, extra)}."
            )
    if quick and not settled:
        text += " This quick report's ranking is not settled: run the default report before deciding."
    return {
        "change": best["change"],
        "kind": best["kind"],
        "parts": best["parts"],
        "delta_failure": best["delta_failure"],
        "effort_person_weeks": best["effort_person_weeks"],
        "cost": best["cost"],
        "largest_cut": None if further is None else further["change"],
        "saving": saving(singles, cost),
        "sentence": text,
        "settled": settled,
    }


def saving(singles: list[dict[str, Any]], cost: Costing) -> str:
    """The clause whose removal saves most effort without a clear change in failure, in words
    ('' when none saves a person-week): what the charter may be paying for and not getting."""
    removals = [
        r
        for r in singles
        if r["verdict"] == "no clear effect"
        and r["effort_person_weeks"] <= -1.0
        and r["change"].startswith("remove")
    ]
    if not removals:
        return ""
    r = min(removals, key=lambda r: r["effort_person_weeks"])
    d = r["delta_failure"]
    return sentence(
        f"To {r['change']} would save {person_weeks(-r['effort_person_weeks'])} person-weeks per alliance"
        f"{_money(cost, -r['effort_person_weeks'])} with no clear change in failure ({points(d['estimate'])}, "
        f"95% interval {points(d['low'])} to {points(d['high'])}): keep it only for what the model does not value"
    )


def in_words(row: dict[str, Any]) -> str:
    """A change or bundle as a clause of a sentence: "add X, add Y and launch as a pilot"."""
    parts = row["parts"]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _kind(row: dict[str, Any]) -> str:
    return "clause" if row["kind"] == "single" else "bundle"


def _money(cost: Costing, person_weeks: float) -> str:
    amount = cost.of(person_weeks)
    return "" if amount is None else f" ({money(amount, cost.currency)})"


def describe_option(row: dict[str, Any], charter_p: float, cost: Costing, lead: str = "") -> str:
    d = row["delta_failure"]
    effort = row["effort_person_weeks"]
    if abs(effort) < FREE_EFFORT:
        spend = "at almost no effort"
    elif effort < 0:
        spend = f"and saves {person_weeks(-effort)} person-weeks per alliance{_money(cost, -effort)}"
    else:
        amount = cost.of(effort)
        priced = "" if amount is None else f", {money(amount, cost.currency)}"
        spend = (
            f"for {person_weeks(effort)} person-weeks per alliance{priced} "
            f"({person_weeks(row['effort_setup_person_weeks'])} one-off, "
            f"{person_weeks(row['effort_recurring_person_weeks'])} recurring)"
        )
    text = sentence(
        f"{lead}{in_words(row)}: it cuts the failure probability from {percent(charter_p)} to "
        f"{percent(row['failure_probability']['estimate'])} ({points(d['estimate'])}, 95% interval "
        f"{points(d['low'])} to {points(d['high'])}) {spend}"
    )
    return text + trade_off(row)


def trade_off(row: dict[str, Any]) -> str:
    """What else the change moves, when it clearly moves it: fewer successes, or alliances ended
    deliberately instead of failing (a pilot that shows no gain is wound down by agreement)."""
    said = []
    s, t = row.get("delta_success"), row.get("delta_terminated")
    if t is not None and t["low"] > 0:
        said.append(
            f"the partners end {points(t['estimate'], signed=False)} more of the alliances by agreement"
        )
    if s is not None and s["high"] < 0:
        said.append(f"success falls by {points(-s['estimate'], signed=False)}")
    elif s is not None and s["low"] > 0:
        said.append(f"success rises by {points(s['estimate'], signed=False)}")
    return f" With it, {' and '.join(said)}." if said else ""


def field_label(result: StressResult, path: str) -> str:
    """A charter field in words: "PanelWorks: outside option", "alliance: complementarity"."""
    import re

    charter = result.charter
    match = re.match(r"partners\[(\d+)\]\.(.+)", path)
    if match:
        partner = charter.partners[int(match.group(1))].name
        return f"{partner}: {match.group(2).replace('.', ' ').replace('_', ' ')}"
    match = re.match(r"triggers\[(\d+)\]\.threshold", path)
    if match:
        signal = charter.triggers[int(match.group(1))].signal.value.replace("_", " ")
        return f"trigger threshold ({signal})"
    return path.replace(".", ": ").replace("_", " ")


def input_importance(result: StressResult) -> list[dict[str, Any]]:
    """Each of the charter's own ranges: the failure probability with it at its low and at its
    high end (the others as drawn), the paired swing, and its share of the spread in failure
    (its squared swing over the sum of all squared swings: first-order, as a tornado reads)."""
    from sim.stress.analysis import _pooled, _rate, interval
    from sim.stress.mapping import uncertain_fields

    runs = result.runs
    rows: list[dict[str, Any]] = []
    for path, span in uncertain_fields(result.charter):
        ends = {}
        for side in ("low", "high"):
            frame = runs[(runs["kind"] == "input") & (runs["name"] == path) & (runs["severity"] == side)]
            ends[side] = interval(_rate(frame).to_numpy(), _pooled(frame))
        swing = paired(result, ("input", path, "high"), ("input", path, "low"))
        rows.append(
            {
                "field": path,
                "label": field_label(result, path),
                "low": span.low,
                "high": span.high,
                "failure_at_low": ends["low"],
                "failure_at_high": ends["high"],
                "swing": swing,
                "matters": bool(swing["low"] > 0 or swing["high"] < 0),
                "note": "It changed no alliance's fate: within this range it does not matter."
                if unchanged(result, ("input", path, "high"), ("input", path, "low"))
                else "",
            }
        )
    total = sum(r["swing"]["estimate"] ** 2 for r in rows)
    for r in rows:
        r["share_of_spread"] = r["swing"]["estimate"] ** 2 / total if total > 0 else 0.0
    rows.sort(key=lambda r: (-abs(r["swing"]["estimate"]), r["field"]))
    return rows


def read_back(result: StressResult) -> list[dict[str, Any]]:
    """How the charter was read into the model: each model setting the charter sets, the value
    used (or its span over the draws, where a range or the ensemble moves it) and the rule."""
    from sim.stress.mapping import MAPPING, Rule

    if not result.mapped:
        return []
    table = pd.DataFrame(result.mapped)
    rules: dict[str, Rule] = {}
    for each in MAPPING:
        for parameter in each.parameter.split(", "):
            rules.setdefault(parameter, each)
    rows = []
    for key in table.columns:
        values = table[key]
        rule = rules.get(key)
        first = values.iloc[0]
        if isinstance(first, int | float | np.floating | np.integer) and not isinstance(first, bool):
            low, high = float(values.min()), float(values.max())
            used = f"{low:.3g}" if low == high else f"{low:.3g} to {high:.3g} over the draws"
        else:
            used = ", ".join(str(v) for v in dict.fromkeys(values))
        rows.append(
            {
                "parameter": key,
                "from": rule.field if rule else "",
                "value": used,
                "rule": rule.rule if rule else "",
            }
        )
    return rows


def checklist_answers(result: StressResult) -> list[dict[str, str]]:
    """The source's checklist, each question with the charter's answer and what it did."""
    from sim.stress.mapping import checklist_effects

    return [
        {"question": question, "answer": answer, "effect": effect}
        for question, answer, effect in checklist_effects(result.charter)
    ]
