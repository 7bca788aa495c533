"""Partner firms and alliances as Mesa agents: the Mesa engine.

The agents carry the model's state as attributes, the fields of
:class:`sim.state.AllianceState` and :class:`sim.state.FirmState`, and each
verb method calls one mechanism of :mod:`sim.mechanisms` on the agent itself,
uncompiled: these functions are the model's only statement of each mechanism,
and the cohort engine runs the very same ones compiled. Read a mechanism in its
module; step through it here.

Scalar fields are Python numbers and array fields small numpy arrays (partner
slots, issue slots, causes), so plain Python evaluates every formula with the
same doubles, in the same order, as compiled code.
"""

from __future__ import annotations

import typing
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

import mesa
import numpy as np

from sim.mechanisms.drift import drift_firm, drift_incentives_and_expectations
from sim.mechanisms.endings import check_endings, close_at_horizon, settle_reputation
from sim.mechanisms.firms import bring_partner_values, report_to_firms
from sim.mechanisms.health import update_health
from sim.mechanisms.issues import open_issues, raise_issues, resolve_issues
from sim.mechanisms.key_contacts import lose_key_contacts
from sim.mechanisms.lifecycle import advance_lifecycle
from sim.mechanisms.maturity import build_routines
from sim.mechanisms.partners import misalignment
from sim.mechanisms.shocks import receive_shock
from sim.mechanisms.touchpoints import hold_touchpoints
from sim.mechanisms.triggers import apply_triggers
from sim.mechanisms.trust import update_trust
from sim.mechanisms.value import create_value
from sim.state import AllianceState, FirmState
from sim.vocabulary import OUTCOMES, Cause, FailureMode, Outcome, Phase

if TYPE_CHECKING:
    from sim.engines.mesa_model import AllianceModel


def _load(agent: Any, record: Any) -> None:
    """Copy a record of the initial state onto the agent's attributes."""
    for name in record.dtype.names:
        value = record[name]
        if isinstance(value, np.ndarray):
            setattr(agent, name, value.copy())
        else:
            setattr(agent, name, value.item())


def fields_table(agents: Sequence[Any], dtype: np.dtype) -> np.ndarray:
    """The agents' state as a record table of type ``dtype`` (for the result tables)."""
    table = np.zeros(len(agents), dtype=dtype).view(np.recarray)
    for name in dtype.names or ():
        table[name] = [getattr(agent, name) for agent in agents]
    return table


class Firm(mesa.Agent):
    """A partner firm in the market.

    Its *strategy* (priorities over the objectives) and *culture* drift slowly;
    the incentives it brings to each alliance revert toward its strategy. Its
    *reputation* falls when it walks out of an alliance or one collapses, and
    its partners in other alliances hear of it. Its *capacity* is split among
    the alliances it holds. Its *outside option* is what it could earn alone.
    State: the fields of :class:`sim.state.FirmState`.
    """

    def __init__(self, model: AllianceModel, index: int, record: Any) -> None:
        super().__init__(model)
        self.index = index
        _load(self, record)

    @property
    def state(self) -> FirmState:
        return cast(FirmState, self)

    def drift(self) -> None:
        """Strategy takes one step of its walk around the firm's core, culture one of its random walk."""
        m = self.model
        w = m.draws
        drift_firm(
            self.state,
            w.strategy_noise[:, self.index],
            w.culture_noise[:, self.index],
            m.context.volatility,
            m.params,
        )

    def settle_reputation(self) -> None:
        """Exits and collapses of the week cost reputation."""
        settle_reputation(self.state, self.model.params)


class Alliance(mesa.Agent):
    """A strategic alliance: two partners, or a hub with spokes, under one charter.

    State: the fields of :class:`sim.state.AllianceState` (trust, open issues
    with their ages, integration, value potential, the five-part health index,
    the damage ledger by cause, the lifecycle phase, and each partner's
    incentives, expectations, commitment, share and champion).
    """

    model: AllianceModel

    def __init__(self, model: AllianceModel, index: int, record: Any) -> None:
        super().__init__(model)
        self.index = index
        _load(self, record)

    @property
    def state(self) -> AllianceState:
        return cast(AllianceState, self)

    def act(self, mechanism: typing.Callable[..., None]) -> None:
        """Run one phase (a mechanism of ``sim.engines.phases.ALLIANCE_PHASES``) on this alliance."""
        m = self.model
        mechanism(self.state, m.alliance_draws[self.index], m.context, m.params)

    # --- the week, phase by phase (the order is sim.engines.phases.ALLIANCE_PHASES)
    def gather_partner_values(self) -> None:
        bring_partner_values(self.state, self.model.firms)

    def advance_lifecycle(self) -> None:
        self.act(advance_lifecycle)

    def drift_incentives_and_expectations(self) -> None:
        self.act(drift_incentives_and_expectations)

    def receive_shock(self) -> None:
        self.act(receive_shock)

    def apply_triggers(self) -> None:
        self.act(apply_triggers)

    def hold_touchpoints(self) -> None:
        self.act(hold_touchpoints)

    def raise_issues(self) -> None:
        self.act(raise_issues)

    def resolve_issues(self) -> None:
        self.act(resolve_issues)

    def create_value(self) -> None:
        self.act(create_value)

    def build_routines(self) -> None:
        self.act(build_routines)

    def lose_key_contacts(self) -> None:
        self.act(lose_key_contacts)

    def update_trust(self) -> None:
        self.act(update_trust)

    def update_health(self) -> None:
        self.act(update_health)

    def check_endings(self) -> None:
        self.act(check_endings)

    def report_to_firms(self) -> None:
        report_to_firms(self.state, self.model.firms)

    def close_at_horizon(self) -> None:
        close_at_horizon(self.state, self.model.context)

    # --- what a reader (or the classroom) asks of an alliance
    def open_issues(self) -> int:
        return int(open_issues(self.state))

    def misalignment(self) -> float:
        return float(misalignment(self.state))

    def ending(self) -> Outcome | None:
        """How the alliance ended (or stands at the horizon); None while it runs."""
        outcome: int = self.state.outcome
        return None if outcome < 0 else OUTCOMES[outcome]

    def primary_cause(self) -> Cause | None:
        cause: int = self.state.failure_cause
        return None if cause < 0 else Cause(cause)

    def failure(self) -> FailureMode | None:
        mode: int = self.state.failure_mode
        return None if mode < 0 else list(FailureMode)[mode]

    def lifecycle_phase(self) -> Phase:
        return Phase(self.state.phase)
