"""Every governance lever is declared once (sim/levers.py), and every lever inherits the same checks.

For each lever: its declaration names a real setting and real mechanisms that read
it; no mechanism reads a lever that is not declared; and switching it on, from a
design without it, changes the alliance-table columns it declares, in both engines
alike (the engines' tables are identical for the design with the lever on).
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import inspect
import re

import pandas as pd
import pytest

import sim.mechanisms
from sim.config import load_config
from sim.levers import LEVERS, Lever, governance_intensity, setup_effort, standing_levers, structure_levers
from sim.params import GovernanceParams, SimulationConfig
from sim.runner import run_cohort

NOT_LEVERS = {"name", "escalation_age_weeks"}  # a label, and a setting of the escalation path
MECHANISM_MODULES = [
    "drift",
    "endings",
    "firms",
    "health",
    "issues",
    "key_contacts",
    "lifecycle",
    "partners",
    "shocks",
    "touchpoints",
    "triggers",
    "trust",
    "value",
]


def lever_id(lever: Lever) -> str:
    return lever.name


def test_every_governance_setting_is_declared_once():
    names = [lever.name for lever in LEVERS]
    assert len(names) == len(set(names))
    settings = {f.name for f in dataclasses.fields(GovernanceParams)} - NOT_LEVERS
    assert set(names) == settings


def governance_reads() -> dict[str, set[str]]:
    """Lever names each mechanism function reads, from its source."""
    reads: dict[str, set[str]] = {}
    for module_name in MECHANISM_MODULES:
        module = importlib.import_module(f"sim.mechanisms.{module_name}")
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if function.__module__ != module.__name__:
                continue
            source = inspect.getsource(function)
            found = set(re.findall(r"\bg\.(\w+)", source)) | set(re.findall(r"governance\.(\w+)", source))
            if found:
                reads[f"{module_name}.{name}"] = found
    return reads


def test_no_mechanism_reads_an_undeclared_lever():
    declared = {lever.name for lever in LEVERS} | NOT_LEVERS
    for mechanism, names in governance_reads().items():
        assert names <= declared, f"{mechanism} reads {sorted(names - declared)}"


def test_the_mechanisms_that_read_a_setting_are_the_ones_declared():
    reads = governance_reads()
    for lever in LEVERS:
        if lever.name in ("meeting_cadence", "steering_committee", "health_check_weeks"):
            continue  # read through the calendar (sim.vocabulary.touchpoints) and sim.levers
        readers = {m for m, names in reads.items() if lever.name in names}
        if lever.name == "adaptation_triggers":
            readers = {"triggers.apply_triggers"}  # through TriggerParams.active, into the context
        assert readers == set(lever.read_by) or readers <= set(lever.read_by), (lever.name, readers)
        for mechanism in lever.read_by:
            module, function = mechanism.split(".")
            assert hasattr(importlib.import_module(f"sim.mechanisms.{module}"), function), mechanism
    assert sim.mechanisms.mechanism  # the package the modules belong to


def test_the_roles_add_up_to_the_design_quantities():
    nothing = GovernanceParams()
    assert standing_levers(nothing, 2) == 0
    assert structure_levers(nothing, 2) == 0
    assert governance_intensity(nothing) == 0.0
    everything = GovernanceParams(
        **{
            lever.name: lever.on
            for lever in LEVERS
            if lever.name not in ("sunset_week", "health_check_weeks")
        },
        health_check_weeks=4,  # a check every four weeks or more often is the most
        escalation_age_weeks=4,
    )
    assert governance_intensity(everything) == pytest.approx(1.0)
    assert standing_levers(everything, 5) == sum(lever.standing for lever in LEVERS)
    assert standing_levers(everything, 2) == sum(
        lever.standing and not lever.ecosystem_only for lever in LEVERS
    )
    assert structure_levers(everything, 5) == sum(lever.structure for lever in LEVERS)
    assert setup_effort(nothing, 2) == 0.0
    assert setup_effort(everything, 5) == pytest.approx(sum(lever.setup for lever in LEVERS))
    assert setup_effort(everything, 2) == pytest.approx(
        sum(lever.setup for lever in LEVERS if not lever.ecosystem_only)
    )


def baseline_for(lever: Lever) -> list[str]:
    """A design without the lever, in an alliance where it has something to act on."""
    alliance = (
        "ecosystem"
        if lever.ecosystem_only
        else "coopetition"
        if lever.name == "ip_guardrails"
        else "complementary"
    )
    return [f"alliance={alliance}", "governance=handshake", "n_alliances=60", "seed=3"]


@functools.cache
def run(overrides: tuple[str, ...], engine: str) -> pd.DataFrame:
    result = run_cohort(load_config([*overrides, f"engine={engine}"]))
    return result.alliances, result.events


def switched_on(lever: Lever) -> tuple[str, ...]:
    value = str(lever.on).lower() if isinstance(lever.on, bool) else lever.on
    return (*baseline_for(lever), f"governance.{lever.name}={value}")


@pytest.mark.parametrize("lever", LEVERS, ids=lever_id)
class TestEveryLever:
    def test_switching_it_on_moves_what_it_declares(self, lever: Lever):
        off, _ = run(tuple(baseline_for(lever)), "cohort")
        on, _ = run(switched_on(lever), "cohort")
        assert lever.moves, "a lever declares what it changes"
        for column in lever.moves:
            assert not off[column].equals(on[column]), f"{lever.name} left {column} unchanged"

    def test_both_engines_agree_with_it_on(self, lever: Lever):
        vec_alliances, vec_events = run(switched_on(lever), "cohort")
        ref_alliances, ref_events = run(switched_on(lever), "mesa")
        pd.testing.assert_frame_equal(ref_alliances, vec_alliances, check_exact=True)
        pd.testing.assert_frame_equal(ref_events, vec_events, check_exact=True)

    def test_it_is_a_setting_of_the_design(self, lever: Lever):
        config = SimulationConfig.from_dict(
            {"governance": {lever.name: GovernanceParams().to_dict()[lever.name]}}
        )
        assert not lever.in_place(config.governance)
        on = load_config(list(switched_on(lever)))
        assert lever.in_place(on.governance)


def test_the_stress_test_reads_its_clauses_from_the_registry():
    """Every lever a charter names is a field of the charter's governance; every on-off lever
    with words for the report is a clause the stress test adds or removes."""
    from sim.stress.charter import Governance
    from sim.stress.stressors import SWITCHES

    fields = set(Governance.model_fields)
    for lever in LEVERS:
        if lever.charter:
            assert lever.charter in fields, lever.name
    assert [key for key, _, _ in SWITCHES] == [f"governance.{lever.name}" for lever in LEVERS if lever.adding]
    assert all(lever.on is True for lever in LEVERS if lever.adding)
