"""Drift: firms' strategy and culture, partners' incentives and expectations move on their own.

A firm's strategy moves at random but stays anchored to its core business: it
reverts toward the priorities it had at signing at ``strategy_anchoring`` a week
(an Ornstein-Uhlenbeck walk), so its drift has a stationary spread of about
``strategy_drift * volatility / sqrt(2 * strategy_anchoring)`` rather than growing
without bound. Firms change strategy slowly and path-dependently around what they
are good at (Teece, Pisano and Shuen 1997; Nelson and Winter 1982), so an alliance
that survives its first years is not pulled ever further apart. Culture follows a
slow random walk. A partner's incentives in an alliance are a mean-reverting random
walk around its firm's strategy, so strategic drift pulls partners apart even
after a realignment. Expectations
creep toward experience and wander; nobody announces either change. Every
drift is scaled by the week's volatility (:mod:`sim.environment`).
"""

from __future__ import annotations

import numpy as np

from sim.mechanisms import mechanism
from sim.mechanisms.partners import clip01
from sim.state import AllianceDraws, AllianceState, Context, FirmState, Params
from sim.vocabulary import EXPECTATION_FLOOR


@mechanism
def drift_firm(
    firm: FirmState, strategy_noise: np.ndarray, culture_noise: np.ndarray, volatility: float, p: Params
) -> None:
    """A firm's strategy takes one step of its walk around its core; its culture one of its
    random walk. ``volatility`` is the week's (:mod:`sim.environment`)."""
    s_sigma = p.dynamics.strategy_drift * volatility
    c_sigma = p.dynamics.culture_drift * volatility
    anchoring = p.dynamics.strategy_anchoring
    for k in range(firm.strategy.shape[0]):
        x = firm.strategy[k]
        firm.strategy[k] = clip01(x + anchoring * (firm.core[k] - x) + s_sigma * strategy_noise[k])
    for k in range(firm.culture.shape[0]):
        firm.culture[k] = clip01(firm.culture[k] + c_sigma * culture_noise[k])


@mechanism
def drift_incentives_and_expectations(a: AllianceState, w: AllianceDraws, c: Context, p: Params) -> None:
    """Incentives revert toward each firm's drifting strategy; expectations shift silently."""
    d = p.dynamics
    volatility = c.volatility
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
