"""The model's mechanisms, each written once, in a module named for its domain concept.

Every mechanism is a plain Python function of one alliance ``i`` (or one firm)
of a :class:`sim.state.CohortState`, the week's draws, the week's
:class:`sim.state.Context` and the parameters (:data:`sim.state.Params`). The
Mesa engine (:mod:`sim.engines.mesa_model`) calls them as they are, one agent at a time: they
are the readable specification. The cohort engine (:mod:`sim.engines.cohort`)
calls the same functions from a compiled loop over every alliance: the
:func:`mechanism` decorator registers each one with numba, which compiles it
where compiled code calls it and leaves it plain Python everywhere else.

Conventions that keep the two agreeing to the last bit:

* every random decision compares a uniform of the week's draws with a
  probability computed from the state, and every number is a function of the
  seed, the alliance or firm, the week and its use (:mod:`sim.draws`), never of
  a generator's state;
* sums over partner slots run from slot 0 upward, a clip is
  ``min(max(x, lo), hi)``, a count of true conditions is a sum of ``int(...)``;
* numba compiles without fast-math (no reordered sums, no fused multiply-adds)
  and with numpy's error model (a division by zero gives inf or nan), which is
  what plain Python gives on the numpy numbers of the state;
* a phase of one alliance reads other alliances only through firm values that
  no phase of the week changes (strategy after the firms' drift, alliances held
  at the start of the week, last week's reputation loss), so running the phases
  alliance by alliance or phase by phase gives the same numbers.

The phases, in the order a week runs them, are declared once in
:mod:`sim.engines.phases`.
"""

from __future__ import annotations

from collections.abc import Callable

from numba.extending import register_jitable

import sim.compiled  # noqa: F401  (names compiled record types by their layout; see there)


def mechanism[F: Callable[..., object]](function: F) -> F:
    """Register ``function`` for compiled callers; it stays a plain Python function."""
    return register_jitable(error_model="numpy")(function)  # type: ignore[no-any-return]


def inlined[F: Callable[..., object]](function: F) -> F:
    """As :func:`mechanism`, and compiled into its callers' code (so that a loop calling it
    can run several of its iterations at once, in vector instructions)."""
    return register_jitable(error_model="numpy", inline="always")(function)  # type: ignore[no-any-return]
