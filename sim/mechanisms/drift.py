"""Drift: firms' strategy and culture, partners' incentives and expectations move on their own.

Strategy and culture follow slow random walks; a partner's incentives in an
alliance are a mean-reverting random walk around its firm's strategy, so
strategic drift pulls partners apart even after a realignment. Expectations
creep toward experience and wander; nobody announces either change. Every
drift is scaled by the scenario's volatility.
"""

from __future__ import annotations

import numpy as np

from sim.mechanics import EXPECTATION_FLOOR
from sim.mechanisms import mechanism
from sim.mechanisms.partners import clip01
from sim.state import AllianceDraws, AllianceState, Context, FirmState, Params


@mechanism
def drift_firm(firm: FirmState, strategy_noise: np.ndarray, culture_noise: np.ndarray, p: Params) -> None:
    """A firm's strategy and culture take one step of their random walks."""
    volatility = p.scenario.volatility
    s_sigma = p.dynamics.strategy_drift * volatility
    c_sigma = p.dynamics.culture_drift * volatility
    for k in range(firm.strategy.shape[0]):
        firm.strategy[k] = clip01(firm.strategy[k] + s_sigma * strategy_noise[k])
    for k in range(firm.culture.shape[0]):
        firm.culture[k] = clip01(firm.culture[k] + c_sigma * culture_noise[k])


@mechanism
def drift_incentives_and_expectations(a: AllianceState, w: AllianceDraws, c: Context, p: Params) -> None:
    """Incentives revert toward each firm's drifting strategy; expectations shift silently."""
    d = p.dynamics
    volatility = p.scenario.volatility
    x_sigma = d.incentive_drift * volatility
    e_sigma = d.expectation_drift * volatility
    for slot in range(a.active.shape[0]):
        if not a.active[slot]:
            continue
        strategy = a.partner_strategy[slot]
        for k in range(a.incentives.shape[1]):
            x = a.incentives[slot, k]
            z = w.incentive_noise[k, slot]
            a.incentives[slot, k] = clip01(x + d.incentive_reversion * (strategy[k] - x) + x_sigma * z)
        e = a.expectation[slot]
        shifted = e + d.expectation_adaptation * (a.perceived_value[slot] - e)
        a.expectation[slot] = max(EXPECTATION_FLOOR, shifted + e_sigma * w.expectation_noise[slot])
