"""``alliance-sim-app``: serve the classroom app, or replay a session from its debrief's command.

``alliance-sim-app [--port 8765] [--host 127.0.0.1]`` serves the app on loopback.
``alliance-sim-app replay --weeks N [--seed S] [--alliances N] [--market OVERRIDE ...]
[-a OVERRIDE ...] [-b OVERRIDE ...] [--inject week:target:kind:size ...] --out DIR`` runs the
session again (the Mesa engine, no browser) and writes its tables into ``DIR``, as a debrief
holds them; the debrief's ``command.txt`` is such a line.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sim.params import ConfigError

DEFAULT_PORT = 8765


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="alliance-sim-app", description="The alliance classroom: a web app, and replays of its sessions."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to serve on (default: loopback only)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port to serve on (default {DEFAULT_PORT})"
    )
    sub = parser.add_subparsers(dest="command")
    replay = sub.add_parser(
        "replay", help="replay a session and write its tables (see a debrief's command.txt)"
    )
    replay.add_argument("--weeks", type=int, required=True, help="weeks to run")
    replay.add_argument("--seed", type=int, default=7)
    replay.add_argument("--alliances", type=int, default=16, help="alliances in the market")
    replay.add_argument("--market", action="append", default=[], help="override shared by both charters")
    replay.add_argument("-a", dest="charter_a", action="append", default=[], help="override of charter A")
    replay.add_argument("-b", dest="charter_b", action="append", default=None, help="override of charter B")
    replay.add_argument("--inject", action="append", default=[], help="event as week:target:kind:size")
    replay.add_argument("--out", type=Path, required=True, help="folder for the tables")
    return parser


def fail(message: str) -> None:
    print(f"alliance-sim-app: error: {message}", file=sys.stderr)
    sys.exit(2)


def replay_command(args: argparse.Namespace) -> None:
    from sim.classroom.debrief import write_tables
    from sim.classroom.session import Injection, Setup, check_injection, replay

    if args.weeks < 0:
        fail(f"--weeks = {args.weeks}: must be an integer >= 0")
    setup = Setup(
        seed=args.seed,
        n_alliances=args.alliances,
        market=tuple(args.market),
        charter_a=tuple(args.charter_a),
        charter_b=None if args.charter_b is None else tuple(args.charter_b),
    )
    try:
        injections = [Injection.parse(text) for text in args.inject]
        configs = [setup.config(c) for c in setup.charters]  # every key checked before any week runs
        for injection in injections:
            for config in configs:
                check_injection(injection, config)
    except ConfigError as error:
        fail(str(error))
    except Exception as error:  # Hydra's own errors (an unknown group option, a malformed override)
        fail(f"{type(error).__name__}: {error}")
    from tqdm import tqdm

    room = None
    with tqdm(total=args.weeks, desc="replay", unit="wk", file=sys.stderr, leave=False) as bar:
        room = replay(setup, args.weeks, injections, progress=bar.update)
    write_tables(room, args.out)
    print(f"replayed {room.week} weeks under {len(setup.charters)} charter(s): {args.out}")


def serve(host: str, port: int) -> None:
    from solara.__main__ import main as solara_main

    sys.argv = [
        "solara",
        "run",
        "sim.classroom.app",
        "--host",
        host,
        "--port",
        str(port),
        "--production",
        "--no-open",
        "--log-level",
        "warning",
    ]
    solara_main()


def console_main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    if args.command == "replay":
        replay_command(args)
        return
    if not 0 < args.port < 65536:
        fail(f"--port = {args.port}: must be between 1 and 65535")
    serve(args.host, args.port)


if __name__ == "__main__":
    console_main()
