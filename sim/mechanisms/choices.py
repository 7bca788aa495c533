"""What a partner chooses, where a class's teams play the partner firms (ODD 7.16).

At their defaults every choice is the model's own partner: it commits what its capacity
gives, raises every issue, shares what the joint work needs, takes a side deal whenever one
tempts it (the opportunism the model draws), proposes nothing and leaves only when the exit
rule says so. A team changes these fields between rounds (``sim.classroom.game``); the
mechanisms read them, so both engines carry them out alike:

* *effort* scales the resources the partner commits (``value.create_value``): more value and
  faster integration, more cost to it, and inequity when partners differ;
* *sitting on issues* spares the trust each new issue costs (``trust.trust_losses``) but slows
  their informal settlement (``issues.resolve_issues``), so they age;
* *protecting information and IP* cuts the IP at risk (``issues.friction_drivers``,
  ``trust.ip_at_risk``) and slows integration (``value.create_value``);
* *declining side deals* turns down the temptation the week's draw offers
  (``trust.take_side_deals``); a deal taken books its private gain to the partner;
* *clauses added* during the run (monthly meetings, shared KPIs, an escalation path, explicit
  expectations) act as the charter's own would, from the week they are agreed, at the
  lever's weekly effort;
* an *agreed renegotiation* opens at the next week it can (``triggers.apply_triggers``);
* *leaving* ends the partner's part that week (``endings.check_endings``).
"""

from __future__ import annotations

from sim.mechanisms import mechanism
from sim.state import AllianceState, Context, Params


@mechanism
def share_of_active(a: AllianceState, flags: object) -> float:
    """The share of active partners whose flag in ``flags`` (one per slot) is set."""
    count = 0.0
    marked = 0.0
    for slot in range(a.active.shape[0]):
        if a.active[slot]:
            count = count + 1.0
            if flags[slot]:  # type: ignore[index]
                marked = marked + 1.0
    return marked / max(count, 1.0)


@mechanism
def silence(a: AllianceState) -> float:
    """The share of active partners sitting on open issues."""
    return share_of_active(a, a.silent)


@mechanism
def protection(a: AllianceState) -> float:
    """The share of active partners protecting their information and IP."""
    return share_of_active(a, a.protects)


@mechanism
def meets(a: AllianceState, c: Context, p: Params) -> bool:
    """A meeting this week: the charter's calendar, or the meeting clause the partners added."""
    if c.meeting:
        return True
    return (
        a.clause_meetings
        and c.t >= c.charter_week
        and (c.t - c.charter_week) % p.dynamics.added_meeting_weeks == 0
    )


@mechanism
def touches(a: AllianceState, c: Context, p: Params) -> bool:
    """A touchpoint this week, the charter's or an added meeting."""
    return c.any_touchpoint or meets(a, c, p)


@mechanism
def shared_kpis(a: AllianceState, p: Params) -> bool:
    return p.governance.shared_kpis or a.clause_kpis


@mechanism
def escalation_path(a: AllianceState, p: Params) -> bool:
    return p.governance.escalation_path or a.clause_escalation


@mechanism
def explicit_expectations(a: AllianceState, p: Params) -> bool:
    return p.governance.explicit_expectations or a.clause_expectations


@mechanism
def added_levers(a: AllianceState, p: Params) -> int:
    """Standing levers the partners added that the charter did not have (each costs the lever's
    weekly effort; an added meeting costs its meetings)."""
    g = p.governance
    return (
        int(a.clause_kpis and not g.shared_kpis)
        + int(a.clause_escalation and not g.escalation_path)
        + int(a.clause_expectations and not g.explicit_expectations)
    )
