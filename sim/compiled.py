"""Compiled code and its cache: the one place the project adapts numba.

The cohort engine, the market's replay and the draws compile functions through
:func:`compiled_for` (or :func:`compiled`), which keeps their machine code in a cache
folder of the user's (``$NUMBA_CACHE_DIR``, else ``$XDG_CACHE_HOME/alliance-sim`` or
``~/.cache/alliance-sim``), one folder per model source and record layout.

Two adaptations of numba live here and nowhere else, each because numba offers no
supported hook for it (numba's version is bounded in ``pyproject.toml`` and
``tests/test_compiled.py`` checks both on the installed version):

* **Record types named by their layout.** Numba names a record type in compiled symbols
  by a number handed out as types are created, which differs from one process to the
  next; code loaded from the cache for one layout could then take the symbols of another
  layout already loaded. ``types.Record.mangling_args`` is replaced, for every process
  that imports this module, by a name derived from the record's layout.
* **A cache folder per dispatcher.** ``Dispatcher.enable_caching`` reads the cache folder
  from ``numba.config.CACHE_DIR`` when it is called, with no argument to pass one; the
  setting is swapped around that call, under a lock, so two threads compiling at once
  never see each other's folder.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numba
import numpy as np
from numba.core import types


def _record_mangling_by_content(record: types.Record) -> tuple[str, tuple[str]]:
    """Name compiled code for a record type by the record's layout.

    Numba names a record type in compiled symbols by a number it hands out as types are
    created, which differs from one process to the next; compiled code loaded from the
    cache for one layout could then take the symbols of another layout already loaded.
    Naming it by a digest of its layout keeps every layout's code apart in every process.
    """
    digest = hashlib.sha256(record.name.encode()).hexdigest()[:20]
    return type(record).__name__, (f"layout{digest}",)


types.Record.mangling_args = property(_record_mangling_by_content)  # type: ignore[assignment,method-assign]
_CACHE_DIR_LOCK = threading.Lock()


def cache_root() -> Path:
    """Where compiled code is kept: ``$NUMBA_CACHE_DIR``, else the user's cache folder."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return Path(os.environ["NUMBA_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "alliance-sim" / "numba"


CACHE_FORMAT = "records-by-layout-1"
"""Part of every cache folder's name: compiled code from before record types were named by
their layout (sim.mechanisms) is never loaded."""


@functools.cache
def model_digest() -> str:
    """A digest of the source of everything compiled code is built from. Numba checks a
    cached entry only against the file of the function it compiled, not against the
    mechanisms that function calls in other files; a cache folder per digest means an
    edited mechanism is always compiled afresh."""
    root = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    shared = [root / name for name in ("state.py", "draws.py", "vocabulary.py", "events.py")]
    for path in [*sorted([*root.glob("mechanisms/*.py"), *root.glob("engines/*.py")]), *shared]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


CACHE_KEPT_DAYS = 7


@functools.cache
def prune_cache() -> None:
    """Remove cache folders no run has used for a week (older sources, older layouts)."""
    root = cache_root()
    if not root.is_dir():
        return
    cutoff = time.time() - CACHE_KEPT_DAYS * 86400
    for folder in root.iterdir():
        try:
            if folder.is_dir() and folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue  # another process is using or removing it


@functools.cache
def compiled_for(function: Callable[..., Any], layout: np.dtype) -> Any:
    """``function`` compiled for one layout of the record tables it is given.

    Every layout (one per number of partner slots) gets a dispatcher, and a cache
    folder, of its own: a dispatcher tells arguments apart by a quick fingerprint that
    does not see the fields of a record array, so one dispatcher fed two layouts would
    run the first one's code. (Compiled symbols are named by layout, see
    sim.mechanisms, so code loaded from the cache keeps apart too.)
    """
    dispatcher = numba.njit(nogil=True, error_model="numpy")(function)
    if not hasattr(dispatcher, "enable_caching"):  # NUMBA_DISABLE_JIT: the plain function
        return dispatcher
    tag = hashlib.sha256(f"{CACHE_FORMAT} {model_digest()} {layout.descr!r}".encode()).hexdigest()[:16]
    prune_cache()
    folder = cache_root() / tag
    try:
        folder.mkdir(parents=True, exist_ok=True)
        os.utime(folder)  # in use: kept by prune_cache
    except OSError:
        pass  # numba falls back to a cache it can write, or to none
    config: Any = numba.config  # read by enable_caching: where this dispatcher caches
    with _CACHE_DIR_LOCK:
        default = config.CACHE_DIR
        config.CACHE_DIR = str(folder)
        try:
            dispatcher.enable_caching()
        finally:
            config.CACHE_DIR = default
    return dispatcher


NO_LAYOUT = np.dtype([])


def compiled(function: Callable[..., Any]) -> Any:
    """``function``, which reads no record table, compiled and cached as the engine's code is."""
    return compiled_for(function, NO_LAYOUT)
