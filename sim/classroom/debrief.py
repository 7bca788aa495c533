"""The debrief: what a class takes away from a session, in one zip file.

``session.json``   the setup, the weeks run, the injected events and the command line;
``command.txt``    the command line that replays the session (``alliance-sim-app replay ...``);
``config_A.json``  the validated parameters of each charter (and ``config_B.json``);
``events.csv``     every event of the session, in numbers and in plain words;
``timeseries_A.csv`` the weekly series the charts show (and ``_B``);
``alliances_A.csv`` where every alliance stands at the end (and ``_B``);
``figures/``       the network of each charter and the charts, as PNG;
``summary.md``     a short plain-language account of what happened and why.

``alliance-sim-app replay`` writes the same tables (``--out``), so a debrief can be checked
against its own command line.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from sim.classroom.session import Classroom, alliance_rows, charter_name
from sim.levers import LEVERS
from sim.vocabulary import Outcome

if TYPE_CHECKING:
    from sim.classroom.view import ClassroomView

TABLE_FLOAT_FORMAT = "%.17g"  # every digit, so a replay is compared number for number


def tables(room: Classroom) -> dict[str, str]:
    """The session's tables as CSV texts, by file name."""
    out = {"events.csv": room.events_frame().to_csv(index=False)}
    for charter in room.setup.charters:
        out[f"timeseries_{charter}.csv"] = room.series_frame(charter).to_csv(
            index=False, float_format=TABLE_FLOAT_FORMAT
        )
        out[f"alliances_{charter}.csv"] = alliance_rows(room.models[charter]).to_csv(
            index=False, float_format=TABLE_FLOAT_FORMAT
        )
    return out


def write_tables(room: Classroom, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in tables(room).items():
        (folder / name).write_text(text)


def _outcomes(room: Classroom, charter: str) -> Counter[str]:
    frame = alliance_rows(room.models[charter])
    return Counter(frame["outcome"])


def summary(room: Classroom) -> str:
    """What happened and why, in a few plain sentences."""
    week = room.week
    lines = [f"# Debrief: week {week}", ""]
    for charter in room.setup.charters:
        model = room.models[charter]
        g = model.config.governance
        frame = alliance_rows(model)
        counts = _outcomes(room, charter)
        n = len(frame)
        failed = frame[frame["outcome"] == Outcome.FAILED.value]
        causes = Counter(failed["primary_cause"]).most_common(2)
        running = frame[frame["outcome"] == "running"]
        lines.append(f"## Charter {charter}: {charter_name(model.config)}")
        lines.append("")
        levers = [lever.name.replace("_", " ") for lever in LEVERS if lever.in_place(g)]
        if model.config.triggers.enabled and not g.adaptation_triggers:
            levers.append("trigger clauses")
        if model.config.launch.mode.value == "pilot":
            levers.append("a controlled pilot launch")
        lines.append(f"Levers in place: {', '.join(levers) if levers else 'none (a handshake)'}.")
        lines.append(
            f"After {week} weeks, {counts.get('running', 0)} of {n} alliances are still running, "
            f"{counts.get('failed', 0)} failed, {counts.get('terminated', 0)} were ended deliberately, "
            f"{counts.get('success', 0)} met their objectives and {counts.get('underperforming', 0)} "
            "fell short of them."
        )
        if causes:
            said = " and ".join(f"{cause.replace('_', ' ')} ({k})" for cause, k in causes)
            lines.append(f"The failures came mostly from {said}.")
        if len(running):
            lines.append(
                f"The alliances still running hold a mean trust of {running['trust'].mean():.2f} "
                f"and a mean health index of {running['health'].mean():.2f}."
            )
        proactive = float(frame["effort_proactive"].sum())
        reactive = float(frame["effort_reactive"].sum())
        lines.append(
            f"Partners spent {proactive:.1f} person-weeks on proactive governance and "
            f"{reactive:.1f} on firefighting."
        )
        lines.append("")
    if len(room.setup.charters) == 2:
        a, b = _outcomes(room, "A"), _outcomes(room, "B")
        diff = a.get("failed", 0) - b.get("failed", 0)
        lines.append("## A against B")
        lines.append("")
        lines.append(
            "Both charters ran the same alliances, under the same shocks and the same injected events, "
            "so the difference below is the design's alone."
        )
        if diff > 0:
            lines.append(f"Charter B saved {diff} alliance{'s' if diff != 1 else ''} that failed under A.")
        elif diff < 0:
            lines.append(f"Charter B lost {-diff} more alliance{'s' if diff != -1 else ''} than A.")
        else:
            lines.append("Both charters lost as many alliances so far.")
        lines.append("")
    if room.injections:
        lines.append("## Events injected by hand")
        lines.append("")
        for injection in room.injections:
            where = "every alliance" if injection.target is None else f"alliance {injection.target}"
            size = f" of size {injection.size:.2f}" if injection.size else ""
            lines.append(f"- week {injection.week + 1}: {injection.kind.label}{size} in {where}")
        lines.append("")
    lines.append("Replay this session with the command in `command.txt`.")
    return "\n".join(lines) + "\n"


def debrief_zip(view: ClassroomView) -> bytes:
    """The whole debrief as the bytes of a zip file."""
    room = view.room
    command = room.setup.command(room.week, room.injections)
    session = {
        "week": room.week,
        "setup": room.setup.to_dict(),
        "injections": [i.to_arg() for i in room.injections],
        "command": command,
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("session.json", json.dumps(session, indent=2))
        archive.writestr("command.txt", command + "\n")
        for charter, model in room.models.items():
            archive.writestr(f"config_{charter}.json", json.dumps(model.config.to_dict(), indent=2))
        for name, text in tables(room).items():
            archive.writestr(name, text)
        for name, png in view.figures().items():
            archive.writestr(f"figures/{name}", png)
        archive.writestr("summary.md", summary(room))
    return buffer.getvalue()


def read_session(archive: Path) -> dict:
    with zipfile.ZipFile(archive) as z:
        return json.loads(z.read("session.json"))


def read_table(archive: Path, name: str) -> pd.DataFrame:
    with zipfile.ZipFile(archive) as z, z.open(name) as f:
        return pd.read_csv(f)
