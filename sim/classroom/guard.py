"""A panel that shows an error in its place, logged, instead of a page of traceback."""

from __future__ import annotations

import logging
from typing import Any

import solara

log = logging.getLogger("sim.classroom")


@solara.component
def Guard(session_key: str, name: str, children: list[Any] = []) -> None:  # noqa: B006 (Solara's idiom)
    """Shows its children; an error in them is logged with the session id and shown in their
    place, never as a page of traceback."""
    error, clear = solara.use_exception()

    def report() -> None:
        if error is not None:
            log.error(
                "session %s: the %s panel failed",
                session_key,
                name,
                exc_info=(type(error), error, error.__traceback__),
            )

    solara.use_effect(report, [error])
    if error is not None:
        solara.Error(f"The {name} panel could not be shown ({type(error).__name__}: {error}); it is logged.")
        solara.Button("Show it again", on_click=clear)
        return
    solara.Column(children=children, style={"min-height": "0"})
