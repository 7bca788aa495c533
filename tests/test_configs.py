"""Config smoke tests: every option of every config group composes, validates and runs.

The real ``configs/`` tree (found relative to this tests folder) is composed
with Hydra's compose API, as the command line does; the config is shrunk to a
small, short reference run and simulated with ``sim.runner.run_cohort``.
"""

from __future__ import annotations

import pytest
import yaml
from conftest import CONFIG_DIR
from hydra import compose, initialize_config_dir

import sim.cli  # registers the structured-config schema the configs build on
import sim.config
from sim.params import Engine
from sim.runner import run_cohort

GROUPS = ("alliance", "governance", "triggers", "scenario", "launch", "market", "dynamics")
SHRINK = ["n_alliances=20", "horizon_weeks=20", "engine=mesa", "seed=3"]


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONFIG_DIR / group).glob("*.yaml"))


GROUP_OPTIONS = [(group, option) for group in GROUPS for option in options(group)]


def compose_config(overrides: list[str]):
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=overrides)
    return sim.cli.to_simulation_config(cfg)


def test_every_group_has_options():
    for group in GROUPS:
        assert options(group), f"configs/{group}/ has no yaml files"
    # the designs the brief compares are all there
    assert {"handshake", "meetings", "committee", "full"} <= set(options("governance"))


def test_the_test_and_the_cli_read_the_same_configs():
    assert CONFIG_DIR.resolve() == sim.cli.CONFIG_DIR.resolve()


@pytest.mark.parametrize(("group", "option"), GROUP_OPTIONS, ids=[f"{g}={o}" for g, o in GROUP_OPTIONS])
def test_every_option_composes_validates_and_runs(group, option):
    config = compose_config([f"{group}={option}", *SHRINK])
    assert config.engine is Engine.MESA
    assert (config.n_alliances, config.horizon_weeks) == (20, 20)
    # the option really was applied: its yaml's values are in the validated config
    written = yaml.safe_load((CONFIG_DIR / group / f"{option}.yaml").read_text()) or {}
    section = getattr(config, group).to_dict()
    for key, value in written.items():
        assert section[key] == value, f"{group}.{key}"

    result = run_cohort(config)
    assert len(result.alliances) == 20
    assert len(result.timeseries) == 20
    assert result.alliances["outcome"].notna().all()
    if group == "governance":
        assert set(result.alliances["governance"]) == {config.governance.name}


def test_load_config_matches_compose():
    """sim.cli.load_config is the scripted equivalent of the command line's composition."""
    overrides = ["governance=full", "alliance=ecosystem", *SHRINK]
    assert sim.config.load_config(overrides) == compose_config(overrides)


def test_default_config_is_the_documented_default_run():
    """The defaults: a handshake complementary cohort, calm scenario, full launch, three years."""
    config = compose_config([])
    assert config.governance.name == "handshake"
    assert config.alliance.type.value == "complementary"
    assert config.scenario.name == "calm"
    assert config.launch.mode.value == "full"
    assert config.horizon_weeks == 156
