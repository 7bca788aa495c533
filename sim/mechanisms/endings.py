"""How alliances end: failure (trust collapse, a partner's exit), a deliberate, graceful
termination, a sunset (the project completed as planned: a success if its objectives
are met, else underperforming), or, alive at the horizon, success or underperformance.

A partner walks out after ``exit_patience`` weeks in which the value it perceives
falls short of its outside option; before results are due, while it still tests the
fit, it may walk away as soon as trust has fallen. A dyad fails when either partner leaves, an
ecosystem when its hub leaves or fewer than half its spokes remain. At a
strategic review, the charter's termination criteria (alignment, value,
relationship health, opportunity cost) are checked; failing reviews in a row end
the alliance deliberately, and with strategic alignment the partners wind down
by agreement a partnership one of them no longer fits. Every failure records its
primary cause: the largest entry of the damage ledger.
"""

from __future__ import annotations

from sim.events import ENDING_CODE_BASE
from sim.mechanisms import mechanism
from sim.mechanisms.log import ENDING, PARTNER_EXIT, record
from sim.mechanisms.partners import expects_results, misalignment
from sim.state import AllianceDraws, AllianceState, Context, FirmState, Params
from sim.vocabulary import OUTCOMES, FailureMode, Outcome, too_few_spokes

SUCCESS = OUTCOMES.index(Outcome.SUCCESS)
UNDERPERFORMING = OUTCOMES.index(Outcome.UNDERPERFORMING)
FAILED = OUTCOMES.index(Outcome.FAILED)
TERMINATED = OUTCOMES.index(Outcome.TERMINATED)
_MODES = list(FailureMode)
BY_EXIT = _MODES.index(FailureMode.PARTNER_EXIT)
BY_COLLAPSE = _MODES.index(FailureMode.TRUST_COLLAPSE)

too_few = mechanism(too_few_spokes)


@mechanism
def end(a: AllianceState, t: int, outcome: int) -> None:
    """The alliance ends this week with ``outcome``; the ending is logged."""
    a.alive = False
    a.outcome = outcome
    a.end_week = t + 1
    code = -1
    if a.failure_mode >= 0 and a.failure_cause >= 0:
        code = a.failure_mode * ENDING_CODE_BASE + a.failure_cause
    record(a, ENDING, outcome, code, 0.0)


@mechanism
def fail(a: AllianceState, t: int, mode: int) -> None:
    """A failure: its primary cause is the cause that did trust the most damage."""
    best = 0
    for k in range(1, a.ledger.shape[0]):
        if a.ledger[k] > a.ledger[best]:
            best = k
    a.failure_cause = best
    a.failure_mode = mode
    end(a, t, FAILED)


@mechanism
def objectives_met(a: AllianceState, c: Context) -> bool:
    """The objectives are met once cumulative value per partner reaches the target set for the
    alliance's planned length (:func:`sim.vocabulary.objective`)."""
    return a.cumulative_value >= c.objective


@mechanism
def termination_criteria_failing(a: AllianceState, c: Context, p: Params) -> int:
    """How many of the charter's termination criteria fail at a review: alignment, value,
    relationship health and opportunity cost (partners would do better alone)."""
    d = p.dynamics
    surplus = 0.0
    for slot in range(a.active.shape[0]):
        if a.active[slot]:
            outside = a.partner_outside_option[slot] * c.outside_factor
            surplus = surplus + (a.perceived_value[slot] - outside)
    return (
        int(misalignment(a) > d.termination_misalignment)
        + int(a.value_perception < d.termination_value)
        + int(a.health < d.termination_health)
        + int(surplus < 0.0)
    )


@mechanism
def pilot_shows_no_gain(a: AllianceState, c: Context, p: Params) -> bool:
    """At the pilot's gate, a partner that would not be better off than alone: the value it
    perceives from the pilot falls short of ``pilot_gate_value`` of its outside option at the
    pilot's scale (rule number one of an alliance: each partner ends up better off than it
    would alone)."""
    bar = p.launch.pilot_gate_value * p.launch.pilot_scale * c.outside_factor
    for slot in range(a.active.shape[0]):
        if a.active[slot] and a.perceived_value[slot] < a.partner_outside_option[slot] * bar:
            return True
    return False


@mechanism
def agreed_wind_down(a: AllianceState, p: Params) -> bool:
    """At a strategic review a partner whose shortfall against its outside option has used
    ``agreed_exit_fraction`` of its exit patience says it no longer fits; if its leaving
    would end the alliance (either partner of a dyad, the hub, or so many spokes that too
    few remain), the partners wind the alliance down by agreement instead of waiting for
    the walk-out."""
    d = p.dynamics
    threshold = d.agreed_exit_fraction * d.exit_patience
    if a.active[0] and a.shortfall_weeks[0] >= threshold:
        return True
    remaining = 0
    for slot in range(1, a.active.shape[0]):
        if a.active[slot] and a.shortfall_weeks[slot] < threshold:
            remaining += 1
    return too_few(remaining, a.active.shape[0] - 1)


@mechanism
def walks_away(a: AllianceState, w: AllianceDraws, slot: int, t: int, p: Params) -> bool:
    """Before results are due (discovery, the charter, operational design, a pilot) a partner
    is still testing whether the chemistry is right; with little committed yet, it walks away
    when trust has fallen, the more likely the lower trust has fallen below
    ``walkaway_trust``. Later, it leaves only after a sustained shortfall."""
    d = p.dynamics
    if expects_results(a, slot, t) or d.walkaway_trust <= 0.0:
        return False
    doubt = max(0.0, 1.0 - a.trust / d.walkaway_trust)
    return w.walkaway_u[slot] < d.walkaway_rate * doubt


@mechanism
def spokes_remaining(a: AllianceState) -> int:
    remaining = 0
    for slot in range(1, a.active.shape[0]):
        if a.active[slot]:
            remaining += 1
    return remaining


@mechanism
def renormalise_shares(a: AllianceState) -> None:
    """Partners who remain split the value of those who left in proportion to their shares."""
    total = 0.0
    for slot in range(a.active.shape[0]):
        if a.active[slot]:
            total = total + a.share[slot]
    for slot in range(a.active.shape[0]):
        if a.active[slot]:
            a.share[slot] = a.share[slot] / total


@mechanism
def check_endings(a: AllianceState, w: AllianceDraws, c: Context, p: Params) -> None:
    """Trust collapse, a partner's exit after a sustained shortfall against its outside
    option, a deliberate ending after consecutive failing reviews or, at a strategic
    review, by agreement when a partner no longer fits, a pilot that fails the charter's
    termination criteria at its gate, or a sunset."""
    d = p.dynamics
    t = c.t
    slots = a.active.shape[0]
    if a.trust < d.collapse_trust:
        for slot in range(slots):
            if a.active[slot]:
                a.collapsed[slot] = True
        fail(a, t, BY_COLLAPSE)
        return
    hub_left = False
    for slot in range(slots):
        if not a.active[slot]:
            continue
        if (
            expects_results(a, slot, t)
            and a.perceived_value[slot] < a.partner_outside_option[slot] * c.outside_factor
        ):
            a.shortfall_weeks[slot] += 1
        else:
            a.shortfall_weeks[slot] = 0
        if a.shortfall_weeks[slot] >= d.exit_patience or a.leaving[slot] or walks_away(a, w, slot, t, p):
            a.active[slot] = False
            a.exited[slot] = True
            record(a, PARTNER_EXIT, slot, -1, 0.0)
            hub_left = hub_left or slot == 0
    if hub_left or too_few(spokes_remaining(a), slots - 1):
        fail(a, t, BY_EXIT)
        return
    if slots > 2:
        renormalise_shares(a)
    if c.review and t >= c.charter_week:
        if termination_criteria_failing(a, c, p) >= d.termination_criteria:
            a.failing_reviews += 1
        else:
            a.failing_reviews = 0
        if a.failing_reviews >= d.termination_reviews:
            end(a, t, TERMINATED)
            return
        if p.governance.strategic_alignment and agreed_wind_down(a, p):
            end(a, t, TERMINATED)
            return
    if a.piloting and t + 1 == c.launch_week + p.launch.pilot_weeks and pilot_shows_no_gain(a, c, p):
        # the pilot showed the fit is wrong before anything was scaled: the partners
        # conclude it by agreement instead of scaling a failure
        end(a, t, TERMINATED)
        return
    if t + 1 == p.governance.sunset_week:
        # a project completed as planned: a success if it delivered, else underperforming;
        # "terminated" is kept for endings by the termination criteria
        end(a, t, SUCCESS if objectives_met(a, c) else UNDERPERFORMING)


@mechanism
def close_at_horizon(a: AllianceState, c: Context) -> None:
    """Still running at the horizon: a success if the objectives are met, else underperforming."""
    a.outcome = SUCCESS if objectives_met(a, c) else UNDERPERFORMING


@mechanism
def settle_reputation(firm: FirmState, p: Params) -> None:
    """Walking out of an alliance, or being in one that collapses, costs a firm reputation;
    its partners elsewhere hear of it next week."""
    d = p.dynamics
    drop = (
        firm.exits_this_week * d.reputation_exit_loss + firm.collapses_this_week * d.reputation_collapse_loss
    )
    firm.reputation = max(0.0, firm.reputation - drop)
    firm.reputation_drop = drop
    firm.exits_this_week = 0
    firm.collapses_this_week = 0
