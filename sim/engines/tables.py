"""The result tables of a finished run, made the same way for both engines."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.events import EventLog
from sim.params import SimulationConfig
from sim.results import AllianceColumns, CohortResult, alliance_table, timeseries_table


def cohort_result(
    config: SimulationConfig,
    alliances: np.ndarray,
    series: np.ndarray,
    log: np.ndarray | None = None,
    events: pd.DataFrame | None = None,
) -> CohortResult:
    """Alliance table, weekly series (``series`` is (weeks, 4)) and event table of a run;
    the events given as a table, or as the cohort engine's log."""
    a = alliances.view(np.recarray)
    cols = AllianceColumns(
        outcome=np.array(a.outcome),
        end_week=np.array(a.end_week),
        failure_mode=np.array(a.failure_mode),
        failure_cause=np.array(a.failure_cause),
        final_trust=np.array(a.trust),
        final_health=np.array(a.health),
        issues_raised=np.array(a.issues_raised),
        issues_resolved=np.array(a.resolved_count),
        resolution_weeks_total=np.array(a.resolution_weeks_total),
        escalations=np.array(a.escalations),
        effort_setup=np.array(a.effort_setup),
        effort_proactive=np.array(a.effort_proactive),
        effort_reactive=np.array(a.effort_reactive),
        renegotiations=np.array(a.renegotiations),
        cumulative_value=np.array(a.cumulative_value),
        value_received=np.array(a.value_received),
        firm_of=np.array(a.firm),
    )
    if events is None:
        assert log is not None
        events = EventLog.from_columns(
            np.array(log["week"]),
            np.array(log["alliance"]),
            np.array(log["kind"]),
            np.array(log["first"]),
            np.array(log["second"]),
            np.array(log["amount"]),
        ).to_frame()
    return CohortResult(
        config=config,
        alliances=alliance_table(cols, config),
        timeseries=timeseries_table(series[:, 0], series[:, 1], series[:, 2], series[:, 3]),
        events=events,
    )
