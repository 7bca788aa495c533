"""How long one week of the classroom takes: step the market and redraw what the page shows.

    python experiments/classroom_speed.py [--preset key_contact] [--weeks 156] [--single]

One week is what the app's play loop does each tick: step the model SolaraViz drives (a
``ClassroomSession``: charter A and, side by side, charter B, on the same alliances) and redraw
both networks and the charts (the images the page's components show). The session runs from
week 0 to ``--weeks`` weeks; the median, the 90th percentile and the largest time per week are printed, and the median is checked against
the goal of 100 ms per week; the process's CPU time per week is printed beside it, since on a
shared machine wall time also counts other work. The last line is one JSON object with
``median_ms``, ``p90_ms``, ``max_ms``, ``cpu_median_ms``, ``cpu_p90_ms``, ``weeks``, ``preset``, ``charters``, ``firms`` and ``alliances``; the exit status
is 1 if the median misses the goal.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
from tqdm import tqdm

from sim.classroom.app import ClassroomSession
from sim.classroom.presets import PRESET_BY_KEY

GOAL_MS = 100.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="key_contact", choices=sorted(PRESET_BY_KEY))
    parser.add_argument("--weeks", type=int, default=156)
    parser.add_argument("--single", action="store_true", help="one charter only (no side-by-side replay)")
    args = parser.parse_args()
    preset = PRESET_BY_KEY[args.preset]
    session = ClassroomSession(preset.title, replay=not args.single)
    view = session.view
    view.network_frames(0)  # the first drawing of the still parts is part of starting, not of a week
    view.charts_frame()
    times, cpu = [], []
    for _ in tqdm(
        range(args.weeks),
        desc="weeks",
        unit="wk",
        file=sys.stderr,
        leave=False,
        disable=not sys.stderr.isatty(),
    ):
        if not view.room.running:
            break
        start, start_cpu = time.perf_counter(), time.process_time()
        session.step()
        view.network_frames(0)
        view.charts_frame()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    ms = np.array(times) * 1000.0
    cpu_ms = np.array(cpu) * 1000.0
    model = view.room.models["A"]
    result = {
        "median_ms": round(float(np.median(ms)), 2),
        "p90_ms": round(float(np.percentile(ms, 90)), 2),
        "max_ms": round(float(ms.max()), 2),
        "cpu_median_ms": round(float(np.median(cpu_ms)), 2),
        "cpu_p90_ms": round(float(np.percentile(cpu_ms, 90)), 2),
        "weeks": len(ms),
        "preset": args.preset,
        "charters": len(view.room.models),
        "firms": len(model.firms),
        "alliances": model.config.n_alliances,
    }
    verdict = "meets" if result["median_ms"] < GOAL_MS else "misses"
    print(
        f"one week of the classroom market ({result['firms']} firms, {result['alliances']} alliances, "
        f"{result['charters']} charter(s)): step + redraw median {result['median_ms']} ms, "
        f"90th percentile {result['p90_ms']} ms, max {result['max_ms']} ms over {result['weeks']} weeks "
        f"({verdict} the {GOAL_MS:.0f} ms goal); CPU time of this process median {result['cpu_median_ms']} ms, "
        f"90th percentile {result['cpu_p90_ms']} ms (wall time above it is other work on a shared machine)"
    )
    print(json.dumps(result))
    sys.exit(0 if verdict == "meets" else 1)


if __name__ == "__main__":
    main()
