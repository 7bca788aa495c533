"""Bad input fails early with a message naming the key, the value and what is allowed.

Two layers: the real command line as a subprocess (Hydra composition and the
typed parameters behind it), and the typed parameters directly. One happy-path
command-line run checks the files a run writes and their documented columns.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pandas as pd
import pytest
from conftest import REPO_ROOT

from sim.params import (
    ConfigError,
    Dynamics,
    GovernanceParams,
    LaunchParams,
    ScenarioParams,
    SimulationConfig,
)

CLI_BASE = ["engine=mesa", "progress=false"]

# override -> strings the error output must contain (the key, and the bad value where it is ours to say)
BAD_OVERRIDES = {
    "governance=nonesuch": ["governance", "nonesuch"],
    "n_alliances=-1": ["n_alliances", "-1", "between 1 and"],
    "horizon_weeks=abc": ["horizon_weeks", "abc"],
    "governance.meting_cadence=x": ["meting_cadence"],
    "governance.meeting_cadence=weekly": ["governance.meeting_cadence", "weekly", "biweekly"],
}


def start_cli(args: list[str], run_dir) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "sim.cli", *args, *CLI_BASE, f"hydra.run.dir={run_dir}"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory):
    """Start every command-line case at once (each pays ~2 s of imports), then collect them."""
    root = tmp_path_factory.mktemp("cli")
    cases = {"happy": ["n_alliances=30", "horizon_weeks=30"]}
    for override in BAD_OVERRIDES:
        # keep a run short should the bad value slip through; never override the key under test
        small = [
            s for s in ("n_alliances=20", "horizon_weeks=10") if s.split("=")[0] != override.split("=")[0]
        ]
        cases[override] = [override, *small]
    procs = {name: start_cli(args, root / f"run{i}") for i, (name, args) in enumerate(cases.items())}
    done = {}
    for i, (name, proc) in enumerate(procs.items()):
        out, err = proc.communicate(timeout=300)
        done[name] = (proc.returncode, out, err, root / f"run{i}")
    return done


# ------------------------------------------------------------------ command line
@pytest.mark.parametrize("override", sorted(BAD_OVERRIDES))
def test_cli_rejects_bad_override(cli_runs, override):
    code, out, err, run_dir = cli_runs[override]
    assert code != 0
    text = out + err
    for needle in BAD_OVERRIDES[override]:
        assert needle in text, f"{needle!r} missing from:\n{text}"
    assert "Traceback" not in err  # a message for a person, not a crash
    assert not (run_dir / "alliances.parquet").exists()


ALLIANCE_COLUMNS = [
    "alliance_id",
    "alliance_type",
    "governance",
    "scenario",
    "launch",
    "seed",
    "outcome",
    "end_week",
    "failure_cause",
    "mean_resolution_weeks",
    "effort_proactive",
    "effort_reactive",
    "final_trust",
    "renegotiations",
    "value_by_partner",
]
TIMESERIES_COLUMNS = ["week", "share_active", "mean_trust", "mean_health", "open_issues"]
EVENT_COLUMNS = ["week", "alliance_id", "kind", "detail"]


def test_cli_happy_path_writes_documented_results(cli_runs):
    code, out, err, run_dir = cli_runs["happy"]
    assert code == 0, err
    assert f"results: {run_dir}" in out
    for name in (
        "alliances.parquet",
        "timeseries.parquet",
        "events.parquet",
        "summary.json",
        "config.json",
        "provenance.json",
    ):
        assert (run_dir / name).is_file(), name

    alliances = pd.read_parquet(run_dir / "alliances.parquet")
    assert set(ALLIANCE_COLUMNS) <= set(alliances.columns)
    assert len(alliances) == 30
    assert list(alliances["alliance_id"]) == list(range(30))
    assert set(alliances["governance"]) == {"handshake"}
    assert set(alliances["seed"]) == {0}
    assert all(len(v) == 2 for v in alliances["value_by_partner"])

    timeseries = pd.read_parquet(run_dir / "timeseries.parquet")
    assert list(timeseries.columns) == TIMESERIES_COLUMNS
    assert list(timeseries["week"]) == list(range(1, 31))

    events = pd.read_parquet(run_dir / "events.parquet")
    assert list(events.columns) == EVENT_COLUMNS

    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["n_alliances"] == 30
    assert sum(o["count"] for o in summary["outcomes"].values()) == 30
    config = json.loads((run_dir / "config.json").read_text())
    assert (config["n_alliances"], config["horizon_weeks"], config["engine"]) == (30, 30, "mesa")
    provenance = json.loads((run_dir / "provenance.json").read_text())
    assert provenance["seed"] == 0
    assert provenance["engine"] == "mesa"
    assert "n_alliances=30" in provenance["overrides"]
    assert provenance["packages"]["mesa"]


def test_documented_columns_are_in_docs_outputs():
    """Every column the brief relies on is described in docs/outputs.md."""
    doc = (REPO_ROOT / "docs" / "outputs.md").read_text()
    for column in ALLIANCE_COLUMNS + TIMESERIES_COLUMNS + EVENT_COLUMNS:
        assert f"`{column}`" in doc, column


# --------------------------------------------------------------- typed parameters
def rejected(build, *needles: str) -> str:
    with pytest.raises(ConfigError) as info:
        build()
    message = str(info.value)
    for needle in needles:
        assert needle in message, f"{needle!r} missing from {message!r}"
    return message


@pytest.mark.parametrize(
    ("data", "needles"),
    [
        ({"n_alliances": 0}, ["n_alliances", "= 0", "integer between 1 and 10000000"]),
        ({"horizon_weeks": 6000}, ["horizon_weeks", "6000", "between 1 and 5200"]),
        ({"seed": -1}, ["seed", "-1", "integer between 0"]),
        ({"dynamics": {"trust_per_gap": 1.5}}, ["dynamics.trust_per_gap", "1.5", "between 0.0 and 1.0"]),
        ({"scenario": {"shock_rate": -0.1}}, ["scenario.shock_rate", "-0.1", "between 0.0 and 1.0"]),
        ({"alliance": {"spokes": 1}}, ["alliance.spokes", "= 1", "between 2 and 12"]),
        ({"alliance": {"objective_value": -5.0}}, ["alliance.objective_value", "-5.0", ">= 0.0"]),
        ({"launch": {"pilot_weeks": 0}}, ["launch.pilot_weeks", "= 0", "between 1 and 520"]),
        (
            {"triggers": {"health_threshold": 2.0}},
            ["triggers.health_threshold", "2.0", "between 0.0 and 1.0"],
        ),
        ({"governance": {"sunset_week": -3}}, ["governance.sunset_week", "-3", "between 0 and"]),
    ],
)
def test_out_of_range_values_are_rejected(data, needles):
    rejected(lambda: SimulationConfig.from_dict(data), *needles)


@pytest.mark.parametrize(
    ("data", "needles"),
    [
        ({"horizon_weeks": "abc"}, ["horizon_weeks", "'abc'", "integer"]),
        ({"n_alliances": 20.5}, ["n_alliances", "20.5", "integer"]),
        ({"n_alliances": True}, ["n_alliances", "True", "integer"]),
        (
            {"governance": {"decision_rights": "yes"}},
            ["governance.decision_rights", "'yes'", "true or false"],
        ),
        ({"governance": {"name": 3}}, ["governance.name", "3", "string"]),
        ({"scenario": {"volatility": "high"}}, ["scenario.volatility", "'high'", "between 0.0 and 5.0"]),
        ({"scenario": {"shock_scale": math.nan}}, ["scenario.shock_scale", "nan", "finite"]),
        ({"dynamics": {"value_noise": math.inf}}, ["dynamics.value_noise", "inf", "finite"]),
        ({"governance": "full"}, ["governance", "'full'", "group of settings"]),
        ({"triggers": {"enabled": "maybe"}}, ["triggers.enabled", "'maybe'", "true or false"]),
    ],
)
def test_wrong_types_are_rejected(data, needles):
    rejected(lambda: SimulationConfig.from_dict(data), *needles)


@pytest.mark.parametrize(
    ("data", "needles"),
    [
        (
            {"governance": {"meeting_cadence": "weekly"}},
            ["governance.meeting_cadence", "'weekly'", "none, biweekly"],
        ),
        ({"engine": "turbo"}, ["engine", "'turbo'", "mesa, cohort"]),
        (
            {"alliance": {"type": "merger"}},
            ["alliance.type", "'merger'", "complementary, coopetition, ecosystem"],
        ),
        ({"launch": {"mode": "gradual"}}, ["launch.mode", "'gradual'", "full, pilot"]),
    ],
)
def test_unknown_enum_values_list_the_allowed_ones(data, needles):
    rejected(lambda: SimulationConfig.from_dict(data), *needles)


def test_unknown_keys_are_rejected_with_the_known_ones():
    rejected(
        lambda: SimulationConfig.from_dict({"governance": {"meting_cadence": "biweekly"}}),
        "governance.meting_cadence",
        "meeting_cadence",
        "allowed keys",
    )
    rejected(lambda: SimulationConfig.from_dict({"n_aliances": 3}), "n_aliances", "n_alliances")
    rejected(
        lambda: SimulationConfig.from_dict({"dynamics": {"trust_floor_x": 0.1}}), "dynamics.trust_floor_x"
    )


def test_shock_shares_must_leave_room_for_technology_shocks():
    """Regulatory and market-share shocks are shares of all shocks: together at most 1."""
    message = rejected(
        lambda: ScenarioParams(regulatory_share=0.7, market_share_share=0.5),
        "scenario.regulatory_share",
        "scenario.market_share_share",
        "at most 1",
    )
    assert "1.2" in message
    assert ScenarioParams(regulatory_share=0.5, market_share_share=0.5).market_share_share == 0.5
    rejected(
        lambda: SimulationConfig.from_dict(
            {"scenario": {"regulatory_share": 0.9, "market_share_share": 0.2}}
        ),
        "scenario.regulatory_share",
    )


def test_sunset_must_fall_within_the_horizon():
    rejected(
        lambda: SimulationConfig(horizon_weeks=52, governance=GovernanceParams(sunset_week=60)),
        "governance.sunset_week",
        "60",
        "horizon_weeks (52)",
    )
    assert (
        SimulationConfig(horizon_weeks=52, governance=GovernanceParams(sunset_week=52)).governance.sunset_week
        == 52
    )
    rejected(
        lambda: SimulationConfig(horizon_weeks=100).replace(horizon_weeks=20, governance={"sunset_week": 30}),
        "governance.sunset_week",
        "30",
    )


def test_direct_dataclass_construction_validates():
    rejected(lambda: Dynamics(exit_patience=0), "dynamics.exit_patience", "= 0", "between 1 and 520")
    rejected(lambda: LaunchParams(pilot_scale=1.5), "launch.pilot_scale", "1.5", "between 0.0 and 1.0")
    rejected(
        lambda: GovernanceParams(health_check_weeks=60),
        "governance.health_check_weeks",
        "60",
        "between 0 and 52",
    )
    rejected(lambda: GovernanceParams(meeting_cadence="weekly"), "governance.meeting_cadence", "'weekly'")


def test_a_group_of_the_wrong_type_is_named_with_its_value():
    """Passing a plain mapping where a parameter group is expected names the key, the value
    given and what is allowed."""
    rejected(lambda: SimulationConfig(governance={"name": "x"}), "governance", "'name'", "GovernanceParams")


def test_valid_values_pass_through_with_their_types():
    config = SimulationConfig.from_dict(
        {"n_alliances": 5, "scenario": {"shock_rate": 1}, "governance": {"meeting_cadence": "monthly"}}
    )
    assert isinstance(config.scenario.shock_rate, float)
    assert config.governance.meeting_cadence.period_weeks == 4
    assert SimulationConfig.from_dict(config.to_dict()) == config
