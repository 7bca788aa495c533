"""``alliance-sim-app``: serve the classroom app, or replay a session from its debrief's command.

``alliance-sim-app [--port 8765] [--host 127.0.0.1] [--keep 1800]`` serves the app on loopback;
a session whose tabs are all closed (or lost) is kept ``--keep`` seconds for a reload, then freed.
``alliance-sim-app replay --weeks N [--seed S] [--alliances N] [--market OVERRIDE ...]
[-a OVERRIDE ...] [-b OVERRIDE ...] [--inject week:target:kind:size ...] --out DIR`` runs the
session again (the Mesa engine, no browser) and writes its tables into ``DIR``, as a debrief
holds them; the debrief's ``command.txt`` is such a line.
``alliance-sim-app class-replay LOG --out DIR`` rebuilds a participatory class from the decision
log of its export and writes its tables, byte for byte those of the export.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import typing
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
    parser.add_argument(
        "--keep",
        type=float,
        default=1800.0,
        help="seconds a session with no tab open is kept for a reload, then freed (default 1800)",
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
    replay.add_argument("--out", type=str, required=True, help="folder for the tables")
    class_replay = sub.add_parser(
        "class-replay", help="replay a participatory class from its decision log and write its tables"
    )
    class_replay.add_argument("log", help="the class's decision log (decision-log.json of its export)")
    class_replay.add_argument("--out", type=str, required=True, help="folder for the tables")
    return parser


def class_replay_command(args: argparse.Namespace) -> None:
    """Rebuild a class from its decision log; its tables are those of the class's export."""
    from sim.classroom.game import InputError, read_log, replay, tables_text
    from sim.folders import FolderError, check_writable, write_or_rescue

    try:
        out = check_writable(args.out, "--out")
        try:
            with open(args.log, encoding="utf-8") as handle:
                text = handle.read()
        except (OSError, UnicodeDecodeError) as error:
            raise InputError(args.log, f"cannot read it ({error})") from None
        data = read_log(text)
    except (InputError, FolderError) as error:
        fail(str(error))
    from tqdm import tqdm

    with tqdm(
        total=len(data["rounds"]), desc="class replay", unit="round", file=sys.stderr, leave=False
    ) as bar:
        game = replay(data, progress=bar.update)

    def write(folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in tables_text(game.tables()).items():
            (folder / name).write_text(text, encoding="utf-8", newline="")

    try:
        write_or_rescue(write, out, "alliance-class-replay-")
    except FolderError as error:
        fail(str(error), code=1)
    print(f"replayed {len(data['rounds'])} rounds of {len(game.seats)} seats: {out}")


def fail(message: str, code: int = 2) -> typing.NoReturn:
    print(f"alliance-sim-app: error: {message}", file=sys.stderr)
    sys.exit(code)


def replay_command(args: argparse.Namespace) -> None:
    from sim.classroom.debrief import write_tables
    from sim.classroom.live import check_setup
    from sim.classroom.session import Injection, Setup, check_injection, replay
    from sim.folders import FolderError, check_writable, write_or_rescue

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
        out = check_writable(args.out, "--out")
        injections = [Injection.parse(text) for text in args.inject]
        configs = [check_setup(setup, c) for c in setup.charters]  # every key checked before any week runs
        for injection in injections:
            for config in configs:
                check_injection(injection, config)
            if injection.week >= args.weeks:
                raise ConfigError(
                    f"--inject {injection.to_arg()}: week {injection.week} is not replayed "
                    f"(--weeks = {args.weeks}: events at weeks 0 to {args.weeks - 1} strike)"
                )
    except (ConfigError, FolderError) as error:
        fail(str(error))
    except Exception as error:  # Hydra's own errors (an unknown group option, a malformed override)
        fail(f"{type(error).__name__}: {error}")
    from tqdm import tqdm

    room = None
    with tqdm(total=args.weeks, desc="replay", unit="wk", file=sys.stderr, leave=False) as bar:
        room = replay(setup, args.weeks, injections, progress=bar.update)
    try:
        write_or_rescue(lambda folder: write_tables(room, folder), out, "alliance-replay-")
    except FolderError as error:
        fail(str(error), code=1)
    print(f"replayed {room.week} weeks under {len(setup.charters)} charter(s): {out}")


WS_PING_INTERVAL_S = 20.0
WS_PING_TIMEOUT_S = 300.0
"""A busy server (a whole class opening the app at once) may answer a websocket ping late; a
page whose connection dropped while its app loaded would stay on "Loading app", so the server
waits minutes, not uvicorn's 20 s, before it gives a page up."""


def serve(host: str, port: int, keep: float) -> None:
    """Serve the app with uvicorn and Solara's ASGI app (as Solara documents for self-hosting):
    production mode, no telemetry and no version check (nothing leaves the machine)."""
    import logging

    from sim.classroom.live import KEEP_ENV, limit_heap

    limit_heap()
    # read when Solara and the app are imported: the app's module, production mode, no
    # telemetry; the session store's keep time; and Solara culls a page's kernel that lost its
    # tab without closing it after the same time
    os.environ["SOLARA_APP"] = "sim.classroom.app"
    os.environ["SOLARA_MODE"] = "production"
    os.environ["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] = "false"
    os.environ[KEEP_ENV] = repr(keep)
    os.environ["SOLARA_KERNEL_CULL_TIMEOUT"] = f"{max(1.0, keep):.0f}s"
    shown = socket.gethostname() if host in ("0.0.0.0", "::") else host
    os.environ["ALLIANCE_SIM_APP_URL"] = f"http://{shown}:{port}"  # the address a class's console shows
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    classroom_log = logging.getLogger("sim.classroom")
    classroom_log.addHandler(handler)
    classroom_log.setLevel(logging.INFO)
    import uvicorn

    print(f"alliance-sim-app: serving the classroom on http://{host}:{port}/", file=sys.stderr, flush=True)
    uvicorn.run(
        "solara.server.starlette:app",
        host=host,
        port=port,
        log_level="warning",
        ws_ping_interval=WS_PING_INTERVAL_S,
        ws_ping_timeout=WS_PING_TIMEOUT_S,
        # the frames are SVG text and JPEG: compressing every message on the server's one
        # event loop cost more than it saved, and delayed every page's clicks behind it
        ws_per_message_deflate=False,
    )


def console_main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    if args.command == "replay":
        replay_command(args)
        return
    if args.command == "class-replay":
        class_replay_command(args)
        return
    if not 0 < args.port < 65536:
        fail(f"--port = {args.port}: must be between 1 and 65535")
    if not 0.0 <= args.keep <= 7 * 86400.0:
        fail(f"--keep = {args.keep}: must be between 0 and 604800 seconds (a week)")
    if os.environ.get("PYTHONMALLOC") != "malloc":
        # Python's own allocator keeps the arenas a freed session leaves half used; on the
        # system's allocator (with limit_heap and free_memory) that memory goes back
        os.environ["PYTHONMALLOC"] = "malloc"
        os.execv(
            sys.executable,
            [sys.executable, "-m", "sim.classroom.cli", *(sys.argv[1:] if argv is None else argv)],
        )
    warning = host_warning(args.host)
    if warning:
        print(f"alliance-sim-app: warning: {warning}", file=sys.stderr, flush=True)
    serve(args.host, args.port, args.keep)


def host_warning(host: str) -> str | None:
    """What to say when the app is served beyond this machine (it has no login)."""
    if host in ("127.0.0.1", "localhost", "::1"):
        return None
    return (
        f"serving on {host}, not loopback: anyone who can reach this machine on that address can "
        "open the classroom and join a class with its code (there is no login; a class's console "
        "asks for its teacher code); use it on a classroom network only"
    )


if __name__ == "__main__":
    console_main()
