"""The study's second core: cells computed ahead in a worker process, from the last one back.

Hydra's serial launcher runs a study's cells from the first; :class:`CellsAhead` feeds a
worker process (:mod:`sim.studies.worker`) the cells from the last one backwards, and the two
meet in the middle. :func:`leave_with_the_parent` ends a launcher's worker process when the
study that started it is gone.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import json
import os
import subprocess
import sys
import threading
import time
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sim.engines import threads
from sim.params import SimulationConfig

_WATCHED = False


def leave_with_the_parent(parent: int | None = None) -> None:
    """In a worker process (of a launcher; or of a pool, given the ``parent`` that started
    it), end as soon as the process that started it is gone: a killed study or stress test
    must not leave workers computing for minutes. On Linux the kernel ends the worker with its
    parent at once; elsewhere a watcher notices within half a second. The main process (the
    serial launcher) is never watched."""
    global _WATCHED
    import ctypes
    import multiprocessing
    import signal
    import threading

    if _WATCHED or (parent is None and multiprocessing.parent_process() is None):
        return
    _WATCHED = True
    if parent is None:
        parent = os.getppid()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # gone before the line above took effect
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:  # re-parented: the study's process died
                os._exit(1)

    threading.Thread(target=watch, name="leave-with-the-parent", daemon=True).start()


@dataclasses.dataclass
class Cell:
    """What computing one cell of a study needs, known once the study has been composed."""

    key: str
    config: SimulationConfig
    sets: list[dict[str, Any]] | None
    store: Path
    overrides: dict[str, str]


class CellsAhead:
    """Cells of a study computed in a second process (:mod:`sim.studies.worker`), from the last
    one backwards, while Hydra's serial launcher runs them from the first: a study uses both
    cores of a laptop. The two meet in the middle; a cell the launcher reaches that the worker
    has taken is waited for, then reported as computed.

    ``alliance-sim -m`` starts the worker before Hydra composes the study (:meth:`spawn`), so
    that it loads while the study starts; it gets cells only once every cell has been
    validated (:meth:`start`). A thread of this process feeds it one cell at a time and waits
    for its answer (without holding the interpreter lock). Results are those of the serial
    launcher, bit for bit: each cell is computed whole, from its own configuration, into the
    same cell store. A cell the worker fails is computed again by the launcher, which records
    the failure as usual. ``ALLIANCE_SIM_THREADS=1`` (one core) starts no worker; nor does a
    launcher that runs cells elsewhere, or a study run in-process (``sim.cli.main``).
    """

    worker: typing.ClassVar[subprocess.Popen | None] = None
    running: typing.ClassVar[CellsAhead | None] = None

    def __init__(self, cells: list[Cell], worker: subprocess.Popen) -> None:
        self.cells = cells
        self.process = worker
        self.lock = threading.Lock()
        self.taken: dict[str, threading.Event] = {}  # by the worker
        self.done: dict[str, tuple[str, float] | None] = {}  # status, seconds; None: failed there
        self.launched: set[str] = set()  # by the launcher
        self.thread = threading.Thread(target=self.feed, name="cells-ahead", daemon=True)
        self.ready = threading.Event()  # loaded: a small study may finish before

    @classmethod
    def spawn(cls) -> None:
        """Start the worker (it loads, then waits for cells)."""
        if cls.worker is None and threads() > 1:
            cls.worker = subprocess.Popen(
                [sys.executable, "-m", "sim.studies.worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            atexit.register(cls.dismiss)

    @classmethod
    def start(cls, cells: list[Cell]) -> None:
        """Hand the worker the study's cells (once all are valid)."""
        if cls.worker is None:
            return
        ahead = cls(cells, cls.worker)
        cls.running = ahead
        ahead.thread.start()

    def feed(self) -> None:
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None and stdout is not None
        try:
            if not json.loads(stdout.readline() or "{}").get("ready"):
                return
            self.ready.set()
            for cell in reversed(self.cells):
                with self.lock:
                    if cell.key in self.launched or cell.key in self.taken:
                        break  # met the launcher (or a repeated cell)
                    done = self.taken[cell.key] = threading.Event()
                try:
                    request = {
                        "key": cell.key,
                        "config": cell.config.to_dict(),
                        "sets": cell.sets,
                        "store": str(cell.store),
                        "overrides": cell.overrides,
                    }
                    stdin.write(json.dumps(request) + "\n")
                    stdin.flush()
                    reply = json.loads(stdout.readline() or "{}")
                    if reply.get("key") == cell.key and "status" in reply:
                        self.done[cell.key] = (reply["status"], reply["seconds"])
                finally:
                    done.set()
                if self.done.get(cell.key) is None:
                    break  # the worker failed: the launcher does the rest
        except (OSError, ValueError):  # the worker is gone: the launcher does the rest
            self.dismiss()

    @classmethod
    def figures_elsewhere(cls, folder: Path) -> Callable[[], list[Path] | None]:
        """Ask the worker for the study's figures (see ``build_report``); what this returns
        waits for them, and gives None if the worker could not draw them."""
        ahead, worker = cls.running, cls.worker
        if ahead is None or worker is None or worker.stdin is None or worker.stdout is None:
            return lambda: None
        if not ahead.ready.is_set():  # a small study, done before the worker had loaded
            cls.dismiss()
            return lambda: None
        ahead.thread.join()  # it has nothing left to say to the worker
        stdin, stdout = worker.stdin, worker.stdout
        try:
            stdin.write(json.dumps({"figures": str(folder)}) + "\n")
            stdin.flush()
        except (OSError, ValueError):
            return lambda: None

        def wait() -> list[Path] | None:
            try:
                made = json.loads(stdout.readline() or "{}").get("figures")
            except (OSError, ValueError):
                return None
            return [Path(p) for p in made] if made is not None else None

        return wait

    def wait_for(self, key: str) -> tuple[str, float] | None:
        """The cell's status (computed, or cached) and the worker's seconds on it, once it has
        finished it; None if it did not (not taken, or failed there): the launcher then
        computes the cell itself."""
        with self.lock:
            done = self.taken.get(key)
            if done is None:
                self.launched.add(key)
                return None
        done.wait()
        return self.done.get(key)

    @classmethod
    def dismiss(cls) -> None:
        """Stop the worker. At the end of a study it is idle (the launcher waited for every cell
        it took, and for the figures); a worker still loading is not needed any more."""
        worker, cls.worker = cls.worker, None
        if worker is None:
            return
        with contextlib.suppress(OSError, ValueError):
            if worker.stdin is not None:
                worker.stdin.close()
        worker.terminate()
        worker.wait()

    @classmethod
    def stop(cls) -> None:
        """After the study (every cell was launched or taken): the worker is not needed."""
        cls.running = None
        cls.dismiss()
