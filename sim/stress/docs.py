"""Writes docs/charter.md (the charter reference with its mapping table) and docs/charter.schema.json.

``python -m sim.stress.docs`` regenerates both; ``tests/test_stress.py`` checks they are current.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from sim.stress.charter import json_schema
from sim.stress.mapping import checklist_table, mapping_table
from sim.stress.runner import Plan
from sim.stress.stressors import FUTURE_DOWNTURN, FUTURES, SEVERITIES, STRESSORS

INTRO = """# The charter file

`alliance-stress CHARTER.yaml [--out DIR] [--seed N] [--quick] [--workers N]` stress-tests an alliance
charter before it is signed. The charter is a YAML file a practitioner can write without
knowing the model; examples for the source's cases are in
[`examples/charters/`](../examples/charters/). Its schema is published as
[`charter.schema.json`](charter.schema.json): put
`# yaml-language-server: $schema=<path>/docs/charter.schema.json` on the first line
for completion and checking in an editor.

Every number may be a range where the practitioner is unsure, written `[low, high]` or
`{low: ..., high: ...}`: each Monte Carlo draw takes a value uniformly between them.
A misspelt field, a value out of range or a malformed file stops the command before
anything runs, with the file, the line, the field, the value and what is allowed.

## Sections

| section | what it says |
| --- | --- |
| `name`, `description` | what the alliance is called |
| `partners` | each partner: `name`, `size` (what it can commit, 1 = typical), `priorities` (`speed`, `compliance`, `margin`, `learning`, each 0 to 1), `culture` (`decision_speed`, `formality`, `risk_appetite`, each 0 to 1), `success_measure` (`revenue`, `profit`, `market_share`, `cost_savings`, `learning`, `strategic_value`, `leads`, `clients_won`, `customer_satisfaction`, `time_to_market`, `project_delivered`), `people` (people concerned: scales every effort), `institutionalisation` (0: one key contact, 1: fully institutionalised), `outside_option` (what it earns a week alone, in units of the alliance's weekly value per partner). The first partner is the hub of an ecosystem. |
| `alliance` | `type` (`complementary`, `coopetition`, `ecosystem`), `scope` (`project` with `sunset_weeks`, or `open_ended`), `horizon_years`, `launch` (`pilot` or `full`), `prelude_to_larger`, `ip_sharing` (`protect`, `layered`, `share`), and optionally `project_target` (the value each partner must get to count it a success), `complementarity`, `capability_overlap`, `integration_complexity` |
| `environment` | the market the partners expect: `calm`, `volatile`, `regulatory_shock`, `downturn` |
| `governance` | `cadence` (`none`, `biweekly`, `monthly`, `quarterly`), `decision_rights`, `steering_committee`, `working_groups`, `escalation` (`path`, `age_weeks`), `shared_kpis`, `cultural_bridging`, `explicit_expectations`, `strategic_realignment`, `handover_protocol`, `health_check_weeks` (0: none), `orchestration_role`, `ip_guardrails` |
| `triggers` | adaptation clauses, each a `signal` (`regulatory_change`, `subsidy_change`, `market_share_shift`, `technology_shift`, `health`, `misalignment`) and its `threshold` (a subsidy change above 15%: `0.15`) |
| `termination` | graceful termination: `criteria_below` (how many of alignment, value, health, opportunity cost) for `consecutive_reviews`; `termination: none` (or `clause: false`) for a charter without a termination clause |
| `budget` | optional: `cost_per_person_week` and `currency` (every effort figure is then also given in money), `shared_budget`, `cost_split` and `revenue_split` (partner name: share of 1; recorded in the report) |
| `checklist` | the source's checklist questions not answered elsewhere: `equitable`, `equal_partner`, `decision_makers` (partner name: roles), `dispute_resolution` (`informal`, `escalation`, `arbitration`) |

## The source's checklist, question by question

"""

MAPPING_HEAD = """

## From the charter to the model's parameters

The model draws partner firms from a market in which priorities, cultures and sizes are
spread around a typical firm; the charter's partners set those spreads. Everything the
charter does not set keeps its calibrated default (`configs/`), or, when
`results/calibration/ensemble.csv` exists, the value of the parameter set drawn from the
calibrated ensemble for each Monte Carlo draw.

"""


def stress_section() -> str:
    rows = ["| stressor | what it raises | mild, moderate, severe |", "| --- | --- | --- |"]
    rows.append("| `calm_baseline` | the calm scenario (`configs/scenario/calm.yaml`) | one level |")
    for s in STRESSORS:
        levels = "; ".join(f"`{k}` {', '.join(f'{v:g}' for v in vals)}" for k, vals in s.levels.items())
        rows.append(f"| `{s.name}` | {s.label} | {levels} |")
    futures = ", ".join(f"`{k}` {lo:g} to {hi:g}" for k, (lo, hi) in FUTURES.items())
    return (
        "\n\n## Stressors, clause changes and futures\n\n"
        f"Each stressor runs at the severities {', '.join(SEVERITIES)} (`--quick`: moderate only), "
        "never calmer than the charter's own environment. A volatility spell, a regulatory crisis and a "
        "downturn are episodes: they start when the alliance goes live, their severity sets how deep and "
        "how long they are, and conditions then ease back (`scenario.recovery_weeks`):\n\n"
        + "\n".join(rows)
        + "\n\nClause changes: every governance clause the charter lacks is added, every one it has is "
        "removed, and cadence, escalation age, health checks and trigger thresholds are tightened; the "
        "launch is switched between pilot and full scale, and a sunset removed. Benchmarks: the same "
        "partners on a handshake (no governance, no triggers) and under the full framework "
        "(`configs/governance/full.yaml` with the standard triggers). Scenario discovery adds futures in "
        f"which these are drawn at once, uniformly: {futures}; the value trend is a downturn of "
        f"{FUTURE_DOWNTURN['scenario.episode_weeks']} weeks from signing, won back over the "
        f"{FUTURE_DOWNTURN['scenario.recovery_weeks']} weeks after it.\n"
    )


REPORT = """
## The report

`--out DIR` (default `stress-<charter file name>/`) receives `report.html` (self-contained,
figures inline, prints to PDF from a browser), `report.md` (the same content, its figures in
`figure-*.png` beside it), `report.json`,
`provenance.json` and CSVs with every number: `outcomes.csv`, `benchmarks.csv`,
`stressors.csv`, `clauses.csv`, `bundles.csv`, `frontier.csv`, `input_importance.csv`,
`causes.csv`, `survival.csv`, `early_warning.csv`, `health_thresholds.csv`, `scenarios.csv`,
`runs.csv` (every simulated cohort, with its settings) and `draws.csv` (each Monte Carlo
draw: its seed, its calibrated parameter set and the values drawn for the charter's ranges).

Every report format opens with one sentence: what to change before signing, what it costs
and how sure the model is, or that no change is clearly better than the charter as written.

### What is decided, and how

- **Single changes**: every clause the charter could add, remove or tighten, each run on the
  same alliances and shocks as the charter. Each has its paired change in failure (95%
  interval), its effort (one-off set-up and recurring upkeep, person-weeks per alliance over
  the horizon, all partners together), and, when it clearly helps, the percentage points of
  failure it cuts per person-week. Its *value rank* orders the changes that clearly help by
  what they buy: a change that costs nothing (under 0.05 person-weeks) first, by its cut; then
  by the cut per person-week.
- **Bundles**: the single changes that cut failure most (at most five; four with `--quick`)
  are combined in every pair and triple that touches different settings, and each bundle is
  run on the same draws.
- **The efficient frontier**: the charter as written, every single change and every bundle;
  an option is on the frontier when no other has both no more effort and no more failure.
- **The recommendation**: among the options on the frontier whose interval lies below zero,
  the one that buys most per person-week; when a larger cut on the frontier is clearly better
  than it (paired, interval below zero) the sentence names it too, with the extra effort.
  When no option clearly helps it says so, with the most promising option and its interval.
  When the option clearly moves another outcome (the partners end more alliances by agreement,
  as a pilot that shows no gain is wound down; fewer or more succeed), the sentence says so.
  A clause whose removal saves a person-week or more with no clear change in failure is named
  (`recommendation.saving`).
- **Your own uncertainty**: each range the charter gives runs at its low and at its high end,
  the other ranges as drawn; its swing is the paired change from low to high, and its share of
  the spread is its squared swing over the sum of all squared swings (a first-order reading,
  as a tornado diagram gives). The report draws them beside the built-in stressors.
- **Honest numbers**: a stressor, clause change or range that changed no alliance's fate in any
  draw says so in words instead of "+0.0 pts"; a stressor that cannot act within the horizon or
  that the charter already meets says why. The ranking is *settled* when the first single
  change's interval does not overlap any other's that does not hurt; when it is not, every
  format says so, and a `--quick` report adds that its verdicts are provisional and the
  default report may rank them differently.
- **Money**: with `budget.cost_per_person_week`, every effort figure is also given in the
  charter's currency.

### report.json

Documented field by field in [`report.schema.json`](report.schema.json), against which
`tests/test_stress.py` checks every example's report. The main fields: `recommendation`
(`sentence`, `change`, `parts`, `delta_failure`, `effort_person_weeks`, `cost`,
`largest_cut`, `saving`, `settled`), `ranking` (`settled`, `overlapping`, `warning`),
`failure_probability` and `outcomes` (each with `estimate`, `low`, `high`), `sentences`,
`benchmarks`, `stressors` (each with its `note`), `clauses` and `bundles` (each `change`,
`delta_failure`, `effort_setup_person_weeks`, `effort_recurring_person_weeks`,
`effort_person_weeks`, `cut_per_person_week`, `value_rank`, `cost`, `verdict`, `note`,
`delta_success`, `delta_terminated`),
`frontier` (each option's `effort_person_weeks`, `failure`, `on_frontier`),
`input_importance` (each range's `field`, `label`, `low`, `high`, `failure_at_low`,
`failure_at_high`, `swing`, `share_of_spread`, `note`), `money`, `causes`, `scenarios`,
`early_warning`, `charter_mapping` (each model setting, the charter field it comes from, the
value used and the rule), `checklist_answers` (each question, the answer and what it did),
`glossary`, `model`, `plan` and `seed`.

Intervals are 95% t intervals over the Monte Carlo draws (for a share, widened to at least
the Wilson interval of the pooled counts), so they carry the alliances' chance, the
charter's ranges and the spread between calibrated parameter sets. Every difference is
paired within a draw: the same alliances under the same shocks, and its interval is at least
the paired interval of the alliances whose fate differs.
"""


def plans() -> str:
    from sim.stress.runner import DEFAULT_PLAN, QUICK_PLAN

    def say(plan: Plan) -> str:
        return (
            f"{plan.draws} draws of {plan.n_alliances} alliances per run, severities "
            f"{', '.join(plan.severities)}, {plan.futures_per_draw} extra futures per draw, bundles of the "
            f"{plan.bundle_from} best single changes"
        )

    return f"\nThe default report runs {say(DEFAULT_PLAN)}; `--quick` runs {say(QUICK_PLAN)}.\n"


def charter_md() -> str:
    return INTRO + checklist_table() + MAPPING_HEAD + mapping_table() + stress_section() + REPORT + plans()


def schema_json() -> str:
    return json.dumps(json_schema(), indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    docs = Path(sys.argv[1] if len(sys.argv) > 1 else "docs") if argv is None else Path(argv[0])
    (docs / "charter.md").write_text(charter_md())
    (docs / "charter.schema.json").write_text(schema_json())
    print(f"wrote {docs / 'charter.md'} and {docs / 'charter.schema.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
