"""The charter stress test: schema errors, every example's report, determinism, a sanity
ranking, the calibrated ensemble, and the published docs being current."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import REPO_ROOT

from sim.params import ConfigError
from sim.stress import docs
from sim.stress.charter import CharterError, parse_charter
from sim.stress.runner import Plan, load_ensemble, run_stress

EXAMPLES = sorted((REPO_ROOT / "examples" / "charters").glob("*.yaml"))
SUBSIDY = REPO_ROOT / "examples" / "charters" / "renewable_subsidy.yaml"
TINY = Plan(draws=2, n_alliances=40, severities=("moderate",), futures_per_draw=1)
REPORT_FILES = (
    "report.html",
    "report.json",
    "report.md",
    "stressors.csv",
    "clauses.csv",
    "outcomes.csv",
    "survival.csv",
)


def example(path: Path = SUBSIDY) -> dict:
    return yaml.safe_load(path.read_text())


def edit(change) -> str:
    data = example()
    change(data)
    return yaml.safe_dump(data, sort_keys=False)


# ------------------------------------------------------------------ schema errors

BAD = {
    "misspelt field": (
        lambda d: d["governance"].update({"cadance": d["governance"].pop("cadence")}),
        ["governance.cadance", "cadence", "line"],
    ),
    "value out of range": (
        lambda d: d["triggers"][0].update({"threshold": 1.5}),
        ["triggers[0].threshold", "1.5", "between 0.0 and 1.0"],
    ),
    "range end out of range": (
        lambda d: d["partners"][1].update({"size": [0.1, 1.0]}),
        ["partners[1].size", "0.1", "between 0.3 and 3.0"],
    ),
    "reversed range": (
        lambda d: d["partners"][1].update({"size": [1.4, 0.8]}),
        ["partners[1].size", "low (1.4)"],
    ),
    "unknown option": (
        lambda d: d["alliance"].update({"type": "joint_venture"}),
        ["alliance.type", "joint_venture", "complementary"],
    ),
    "wrong type": (
        lambda d: d["governance"].update({"decision_rights": "maybe"}),
        ["governance.decision_rights", "maybe"],
    ),
    "missing field": (lambda d: d.pop("alliance"), ["'alliance'", "required"]),
    "project without sunset": (
        lambda d: d["alliance"].update({"scope": "project"}),
        ["alliance", "sunset_weeks"],
    ),
    "ecosystem of two": (lambda d: d["alliance"].update({"type": "ecosystem"}), ["ecosystem", "2 partners"]),
    "unknown decision maker": (
        lambda d: d["checklist"]["decision_makers"].update({"Nobody": ["CEO"]}),
        ["Nobody"],
    ),
}


@pytest.mark.parametrize("kind", BAD)
def test_each_kind_of_bad_field_is_named(kind: str) -> None:
    change, expected = BAD[kind]
    with pytest.raises(CharterError) as error:
        parse_charter(edit(change), source="charter.yaml")
    message = str(error.value)
    for part in expected:
        assert part in message, f"{part!r} not in: {message}"


def test_error_gives_the_line_of_the_field() -> None:
    text = SUBSIDY.read_text().replace("cadence: monthly", "cadance: monthly")
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "cadance" in t)
    with pytest.raises(CharterError, match=f"line {line}: unknown field 'governance.cadance'"):
        parse_charter(text, source="c.yaml")


def test_malformed_yaml_names_the_line() -> None:
    with pytest.raises(CharterError, match=r"line 3: not valid YAML"):
        parse_charter("name: x\npartners: [\n  - a: 1\n")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (SUBSIDY.read_text().replace("cadence: monthly", "cadance: monthly"), "governance.cadance"),
        (SUBSIDY.read_text().replace("threshold: 0.15", "threshold: 1.5"), "triggers[0].threshold = 1.5"),
        ("name: x\npartners: [\n  - a: 1\n", "not valid YAML"),
    ],
    ids=["misspelt", "out-of-range", "malformed"],
)
def test_command_line_stops_before_any_simulation(tmp_path: Path, text: str, expected: str) -> None:
    charter = tmp_path / "charter.yaml"
    charter.write_text(text)
    out = tmp_path / "report"
    done = subprocess.run(
        [sys.executable, "-m", "sim.stress.cli", str(charter), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert expected in done.stderr
    assert "Traceback" not in done.stderr
    assert not out.exists()


def test_a_bad_number_of_workers_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from sim.stress.cli import main

    out = tmp_path / "report"
    assert main([str(SUBSIDY), "--workers", "0", "--out", str(out)]) == 2
    assert "--workers = 0: must be an integer >= 1" in capsys.readouterr().err
    assert not out.exists()


def test_every_example_is_a_valid_charter() -> None:
    assert len(EXAMPLES) >= 6
    for path in EXAMPLES:
        parse_charter(path.read_text(), source=str(path))


def test_docs_are_current() -> None:
    assert (REPO_ROOT / "docs" / "charter.md").read_text() == docs.charter_md(), (
        "run python -m sim.stress.docs"
    )
    assert (REPO_ROOT / "docs" / "charter.schema.json").read_text() == docs.schema_json()


# ------------------------------------------------------------------ runs


@functools.cache
def configs(alliance_type: str, environment: str, launch: str, horizon: int):
    from sim.config import load_config

    base = load_config(
        [f"alliance={alliance_type}", f"scenario={environment}", f"launch={launch}", "governance=handshake",
         "triggers=off", f"horizon_weeks={horizon}"]
    )  # fmt: skip
    return base, None


def stress(charter, plan: Plan = TINY, seed: int = 0, ensemble=None, workers: int = 1):
    from sim.stress.runner import Ensemble

    base, _ = configs(
        charter.alliance.type.value,
        charter.environment.value,
        charter.alliance.launch.value,
        charter.horizon_weeks,
    )
    return run_stress(charter, plan, seed, base, ensemble or Ensemble(None), workers=workers)


@pytest.mark.slow
@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_produces_a_report(tmp_path: Path, path: Path) -> None:
    from sim.stress.report import write_report

    charter = parse_charter(path.read_text())
    report = write_report(stress(charter), tmp_path, path)
    for name in REPORT_FILES:
        assert (tmp_path / name).stat().st_size > 0, name
    on_disk = json.loads((tmp_path / "report.json").read_text())
    assert on_disk == report
    p = report["failure_probability"]
    assert 0.0 <= p["low"] <= p["estimate"] <= p["high"] <= 1.0
    assert sum(o["estimate"] for o in report["outcomes"].values()) == pytest.approx(1.0)
    assert {s["name"] for s in report["stressors"]} >= {
        "calm_baseline", "volatility", "regulatory_shock", "downturn", "key_contact_loss",
        "strategic_drift", "culture_clash", "measurement_divergence",
    }  # fmt: skip
    for s in report["stressors"]:
        assert {"name", "severity", "failure_probability"} <= set(s)
    for c in report["clauses"]:
        assert set(c["delta_failure"]) == {"estimate", "low", "high"}
        assert isinstance(c["effort_person_weeks"], float)
        assert c["effort_person_weeks"] == pytest.approx(
            c["effort_setup_person_weeks"] + c["effort_recurring_person_weeks"]
        )
    for name in ("bundles.csv", "frontier.csv", "input_importance.csv"):
        assert (tmp_path / name).stat().st_size > 0, name
    import jsonschema

    schema = json.loads((REPO_ROOT / "docs" / "report.schema.json").read_text())
    jsonschema.validate(on_disk, schema)
    assert len(report["input_importance"]) == len(report["uncertain_fields"])
    assert any(p["on_frontier"] and p["kind"] != "charter" for p in report["frontier"]) or all(
        c["verdict"] != "helps" for c in report["clauses"]
    )
    html = (tmp_path / "report.html").read_text()
    markdown = (tmp_path / "report.md").read_text()
    assert html.count('src="data:image/png;base64,') == (8 if report["input_importance"] else 7)
    sentence = report["recommendation"]["sentence"]
    assert sentence and sentence[0].isupper()
    for text in (html, markdown):
        assert "What to do before signing" in text
        assert "How the charter was read" in text and "Glossary" in text
    from markupsafe import escape

    assert str(escape(sentence)) in html
    assert sentence.split(":")[0] in markdown


@pytest.mark.slow
def test_same_charter_and_seed_give_identical_report_json(tmp_path: Path) -> None:
    """... on one process or on several: the runs are gathered in their order."""
    from sim.stress.report import build, write_report

    charter = parse_charter(SUBSIDY.read_text())
    first = write_report(stress(charter, seed=7), tmp_path / "a", SUBSIDY)
    write_report(stress(charter, seed=7, workers=2), tmp_path / "b", SUBSIDY)
    assert (tmp_path / "a" / "report.json").read_bytes() == (tmp_path / "b" / "report.json").read_bytes()
    for name in ("stressors.csv", "clauses.csv", "runs.csv", "draws.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    other = build(stress(charter, seed=8))
    assert other["failure_probability"] != first["failure_probability"], (
        "another seed must draw other alliances"
    )


SANITY = Plan(draws=4, n_alliances=150, severities=("moderate",), futures_per_draw=0)


@pytest.mark.slow
def test_adaptive_clause_helps_under_the_subsidy_shocks() -> None:
    """The subsidy example runs in the regulatory-shock environment; its 15% clause must help there."""
    from sim.stress.analysis import clause_table

    charter = parse_charter(SUBSIDY.read_text())
    as_written = {c["change"]: c for c in clause_table(stress(charter, SANITY))}
    assert "add adaptation triggers" not in as_written, "a clause the charter has cannot be added"
    assert "remove the adaptation triggers" in as_written
    removed = as_written["remove the adaptation triggers"]["delta_failure"]
    assert removed["low"] > 0, f"removing the subsidy clause should raise failure: {removed}"

    without = parse_charter(edit(lambda d: d.update({"triggers": []})))
    ranked = clause_table(stress(without, SANITY))
    names = [c["change"] for c in ranked]
    assert "remove the adaptation triggers" not in names
    added = next(c for c in ranked if c["change"] == "add adaptation triggers")
    assert added["delta_failure"]["high"] < 0, f"adding the clause should lower failure: {added}"
    helpful = [c["change"] for c in ranked if c["delta_failure"]["high"] < 0]
    assert "add adaptation triggers" in helpful, (
        f"the clause should rank among the helpful changes: {helpful}"
    )


EVENT = REPO_ROOT / "examples" / "charters" / "event_cohost.yaml"


@pytest.mark.slow
def test_a_short_project_between_small_firms_completes_and_costs_days_not_months() -> None:
    """Two one-person practices on a 26-week project: most alliances reach the sunset (a
    success or underperforming), the termination criteria end almost none, and no clause
    change costs ten person-weeks or more, one-off or recurring."""
    from sim.stress.report import build

    report = build(stress(parse_charter(EVENT.read_text()), SANITY))
    outcomes = report["outcomes"]
    assert outcomes["success"]["estimate"] + outcomes["underperforming"]["estimate"] > 0.5, outcomes
    assert outcomes["terminated"]["high"] < 0.05, outcomes
    for c in report["clauses"]:
        assert abs(c["effort_setup_person_weeks"]) < 10, c
        assert abs(c["effort_recurring_person_weeks"]) < 10, c


def test_a_stressor_the_charter_already_meets_is_said_so_in_every_format(tmp_path: Path) -> None:
    """The subsidy example expects a regulatory crisis as harsh and long as the moderate
    regulatory stressor: the tables say so in words instead of a change of zero."""
    from sim.stress.report import write_report

    report = write_report(stress(parse_charter(SUBSIDY.read_text()), TINY), tmp_path, SUBSIDY)
    notes = {s["name"]: s["note"] for s in report["stressors"]}
    assert notes["regulatory_shock"] == "Already at this level or harsher in the charter."
    assert notes["key_contact_loss"] == ""
    for name in ("report.html", "report.md", "stressors.csv"):
        assert "already at this level or harsher" in (tmp_path / name).read_text().lower(), name


# ------------------------------------------------------------------ calibrated ensemble


def write_ensemble(path: Path, rows: list[dict]) -> Path:
    import pandas as pd

    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_ensemble_sets_are_checked_before_anything_runs(tmp_path: Path) -> None:
    base, _ = configs("complementary", "calm", "full", 156)
    bad = write_ensemble(
        tmp_path / "e.csv", [{"parameter_set": 0, "dynamics.base_isue_rate": 0.1, "pattern.P1": 0.7}]
    )
    with pytest.raises(ConfigError, match="base_isue_rate"):
        load_ensemble(bad, base)
    out = write_ensemble(tmp_path / "o.csv", [{"parameter_set": 0, "dynamics.base_issue_rate": 7.0}])
    with pytest.raises(ConfigError, match=r"parameter set 0: dynamics.base_issue_rate = 7.0"):
        load_ensemble(out, base)


@pytest.mark.slow
def test_each_draw_takes_a_parameter_set_from_the_ensemble(tmp_path: Path) -> None:
    from sim.stress.report import build

    charter = parse_charter(SUBSIDY.read_text())
    base, _ = configs("complementary", "regulatory_shock", "full", 156)
    rows = [
        {"parameter_set": "calm", "dynamics.base_issue_rate": 0.02, "pattern.P1": 0.7},
        {"parameter_set": "rough", "dynamics.base_issue_rate": 0.6, "pattern.P1": 0.7},
    ]
    ensemble = load_ensemble(write_ensemble(tmp_path / "ensemble.csv", rows), base)
    plan = Plan(draws=4, n_alliances=40, severities=("moderate",), futures_per_draw=0)
    result = stress(charter, plan, ensemble=ensemble)
    assert set(result.draws["parameter_set"]) == {"calm", "rough"}
    report = build(result)
    assert report["model"]["ensemble_used"]
    assert "calibrated ensemble (2 parameter sets" in report["model"]["description"]
    charter_runs = result.runs[result.runs["kind"] == "charter"].set_index("draw")
    rate = charter_runs["failed"] / charter_runs["n"]
    by_set = result.draws.set_index("draw")["parameter_set"]
    assert rate[by_set == "rough"].mean() > rate[by_set == "calm"].mean()
    assert not build(stress(charter))["model"]["ensemble_used"]


# ------------------------------------------------------------------ mapping


def mapped(change) -> dict:
    import numpy as np

    from sim.stress.mapping import draw_charter, model_overrides

    charter, _ = draw_charter(parse_charter(edit(change)), np.random.default_rng(0))
    base, _ = configs("complementary", "calm", "full", 156)
    return model_overrides(charter, base.alliance.to_dict())


def test_partners_set_the_spreads_they_are_drawn_with() -> None:
    def twins(d: dict) -> None:
        d["partners"][1].update({k: d["partners"][0][k] for k in ("priorities", "culture", "size")})
        d["partners"][1]["success_measure"] = d["partners"][0]["success_measure"]

    same = mapped(twins)
    assert same["market.strategy_spread"] == 0.0
    assert same["market.culture_spread"] == 0.0
    assert same["market.capacity_sd"] == 0.0
    assert same["dynamics.measurement_spread"] == pytest.approx(0.2)
    apart = mapped(lambda d: d["partners"][1].update({"success_measure": "profit"}))
    assert apart["dynamics.measurement_spread"] == pytest.approx(1.0)
    assert apart["market.strategy_spread"] > 0.0


def test_triggers_map_to_the_thresholds_the_model_watches() -> None:
    watched = mapped(
        lambda d: d.update(
            {
                "triggers": [
                    {"signal": "subsidy_change", "threshold": 0.15},
                    {"signal": "market_share_shift", "threshold": 0.2},
                    {"signal": "health", "threshold": 0.5},
                ]
            }
        )
    )
    assert watched["triggers.enabled"] and watched["governance.adaptation_triggers"]
    assert watched["triggers.shock_threshold"] == 0.15
    assert watched["triggers.health_threshold"] == 0.5
    assert watched["triggers.misalignment_threshold"] == 1.0  # not watched: never fires
    none = mapped(lambda d: d.update({"triggers": []}))
    assert not none["triggers.enabled"]


def test_ranges_are_drawn_within_their_bounds_and_reproducibly() -> None:
    import numpy as np

    from sim.stress.mapping import draw_charter

    charter = parse_charter(SUBSIDY.read_text())
    first = [draw_charter(charter, np.random.default_rng(3))[1] for _ in range(2)]
    assert first[0] == first[1]
    assert set(first[0]) == {
        "partners[1].size",
        "partners[1].culture.risk_appetite",
        "partners[1].outside_option",
    }
    rng = np.random.default_rng(4)
    for _ in range(50):
        drawn = draw_charter(charter, rng)[1]
        assert 0.8 <= drawn["partners[1].size"] <= 1.4
        assert 0.3 <= drawn["partners[1].culture.risk_appetite"] <= 0.5


@pytest.mark.parametrize("alliance_type", ["complementary", "coopetition", "ecosystem"])
def test_the_committed_ensemble_applies_to_every_alliance_type(alliance_type: str) -> None:
    """Some settings are calibrated per alliance type (alliance.<type>.objective_value): a charter
    takes its own type's value from each set and none of the others'."""
    base, _ = configs(alliance_type, "calm", "full", 156)
    path = REPO_ROOT / "results" / "calibration" / "ensemble.csv"
    ensemble = load_ensemble(path, base)
    assert len(ensemble.sets) >= 30
    import pandas as pd

    table = pd.read_csv(path)
    for number, values in enumerate(ensemble.sets):
        assert not any(key.count(".") > 1 for key in values)
        expected = table[f"alliance.{alliance_type}.objective_value"].iloc[number]
        assert values["alliance.objective_value"] == pytest.approx(expected, rel=1e-12)
        assert base.replace(**{"alliance": {"objective_value": values["alliance.objective_value"]}})


def test_a_stressor_the_charters_clauses_neutralise_is_said_so(tmp_path: Path) -> None:
    """With shared KPIs the partners count success alike, so diverging success measures change
    no alliance's failure: the table says why, never '+0.0 pts (+0.0 to +0.0)' alone."""
    from sim.stress.report import write_report

    kpis = parse_charter(edit(lambda d: d["governance"].update({"shared_kpis": True})))
    report = write_report(stress(kpis, TINY), tmp_path, SUBSIDY)
    notes = {s["name"]: s["note"] for s in report["stressors"]}
    assert "changed no alliance's failure" in notes["measurement_divergence"]
    assert "changed no alliance's failure" in (tmp_path / "report.md").read_text()
