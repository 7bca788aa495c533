"""The two adaptations of numba in sim/compiled.py hold on the installed numba.

Numba offers no supported hook for either, so the version is bounded in pyproject.toml and
these tests say at once when a new numba changes what the adaptations rely on.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
from numba.core import types

import sim.compiled
from sim.compiled import NO_LAYOUT, compiled_for


def test_record_types_are_named_by_their_layout() -> None:
    a = numba.from_dtype(np.dtype([("x", "f8"), ("y", "i8")], align=True))
    b = numba.from_dtype(np.dtype([("x", "f8"), ("y", "i8")], align=True))
    c = numba.from_dtype(np.dtype([("x", "f8"), ("z", "i8")], align=True))
    assert isinstance(a, types.Record)
    assert a.mangling_args == b.mangling_args  # the same layout, the same name, in any process
    assert a.mangling_args != c.mangling_args
    assert a.mangling_args[1][0].startswith("layout")


def add_one(x: float) -> float:
    return x + 1.0


def twice(x: float) -> float:
    return 2.0 * x


def test_threads_compiling_at_once_each_cache_in_their_own_folder(tmp_path, monkeypatch) -> None:
    """enable_caching reads numba.config.CACHE_DIR: two threads swapping it at once must not
    leave either dispatcher caching in the other's folder, nor the setting changed after."""
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    default = numba.config.CACHE_DIR
    layouts = [np.dtype([(f"f{k}", "f8")]) for k in range(8)]
    functions = [add_one, twice]
    barrier = threading.Barrier(8)

    def build(k: int):
        barrier.wait()
        return compiled_for(functions[k % 2], layouts[k])

    with ThreadPoolExecutor(max_workers=8) as pool:
        dispatchers = list(pool.map(build, range(8)))
    assert default == numba.config.CACHE_DIR
    folders = set()
    for dispatcher in dispatchers:
        cache_path = dispatcher._cache._cache_path  # where this dispatcher keeps its code
        assert cache_path.startswith(str(tmp_path)), cache_path
        folders.add(cache_path)
    assert len(folders) == 8
    assert dispatchers[0](1.0) == 2.0 and dispatchers[1](1.0) == 2.0


def test_a_function_without_records_compiles_once() -> None:
    assert compiled_for(add_one, NO_LAYOUT) is sim.compiled.compiled(add_one)
