"""Result fingerprints: prove that a change to the engines changes no results.

    python experiments/fingerprints.py             # check against the baseline (exit 1 if any run differs)
    python experiments/fingerprints.py --record    # (re)write the baseline
    python experiments/fingerprints.py --only complementary-full/reference ecosystem-full/vectorized

A fixed set of cohorts (:data:`RUNS`) is simulated through the public API only
(``sim.load_config`` and ``sim.run_cohort``), each with both engines. Every run
is reduced to a fingerprint of the two tables the command line writes,
``alliances.parquet`` and ``events.parquet``: a SHA-256 over a canonical
serialisation of each table's content, that is its column names, a canonical
type per column and every value (floats by their exact IEEE-754 bits), in row
order. The index is left out, as the command line writes the tables without it.
The file bytes of a parquet file are never hashed, since they carry writer
metadata. The baseline (``tests/data/fingerprints.json``) also keeps each run's
overrides, row counts, outcome counts and event counts by kind, so that a
changed run is easy to diagnose.

The runs cover every alliance type x governance design cell, every scenario,
launch and trigger option, single governance levers, other seeds, shorter
horizons and a larger cohort; each under ``engine=reference`` and
``engine=vectorized`` (the engines' earlier names, kept as aliases of ``mesa`` and ``cohort``,
so that runs keep their names in the baseline and the script runs on earlier commits too). Both engines give identical tables today, but each is
compared with its own baseline, so a rewrite of either engine is checked
before and after on its own.

The fingerprints are exact: they are meant to be compared on one machine and
one set of installed packages, before and after a change to the code. Record
the baseline again (``--record``) after an intended change of results, and
commit it with that change.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "tests" / "data" / "fingerprints.json"
ENGINES = ("reference", "vectorized")
N_ALLIANCES = 60
"""Cohort size of most runs: the reference engine takes about 12 ms per alliance over 156 weeks."""

CASES: dict[str, list[str]] = {
    # every alliance type x governance design, calm scenario, full launch, triggers as designed
    **{
        f"{kind}-{design}": [f"alliance={kind}", f"governance={design}"]
        for kind in ("complementary", "coopetition", "ecosystem")
        for design in ("handshake", "meetings", "committee", "full")
    },
    # scenarios
    "coopetition-meetings-volatile": ["alliance=coopetition", "governance=meetings", "scenario=volatile"],
    "ecosystem-committee-regulatory_shock": [
        "alliance=ecosystem",
        "governance=committee",
        "scenario=regulatory_shock",
    ],
    "complementary-full-downturn": ["alliance=complementary", "governance=full", "scenario=downturn"],
    "ecosystem-handshake-downturn": ["alliance=ecosystem", "governance=handshake", "scenario=downturn"],
    # launch
    "complementary-handshake-pilot": ["alliance=complementary", "governance=handshake", "launch=pilot"],
    "coopetition-full-pilot-volatile": [
        "alliance=coopetition",
        "governance=full",
        "launch=pilot",
        "scenario=volatile",
    ],
    # adaptation-trigger options
    "complementary-handshake-triggers_standard": [
        "alliance=complementary",
        "governance=handshake",
        "triggers=standard",
    ],
    "ecosystem-full-triggers_off": ["alliance=ecosystem", "governance=full", "triggers=off"],
    "coopetition-committee-triggers_sensitive-volatile": [
        "alliance=coopetition",
        "governance=committee",
        "triggers=sensitive",
        "scenario=volatile",
    ],
    # single governance levers
    "complementary-handshake-shared_kpis": [
        "alliance=complementary",
        "governance=handshake",
        "governance.shared_kpis=true",
    ],
    "coopetition-handshake-cultural_bridging": [
        "alliance=coopetition",
        "governance=handshake",
        "governance.cultural_bridging=true",
    ],
    "coopetition-handshake-ip_guardrails": [
        "alliance=coopetition",
        "governance=handshake",
        "governance.ip_guardrails=true",
    ],
    "complementary-committee-sunset_week": [
        "alliance=complementary",
        "governance=committee",
        "governance.sunset_week=100",
    ],
    "complementary-meetings-handover_protocol": [
        "alliance=complementary",
        "governance=meetings",
        "governance.handover_protocol=true",
    ],
    "ecosystem-committee-health_checks": [
        "alliance=ecosystem",
        "governance=committee",
        "governance.health_check_weeks=8",
    ],
    "complementary-handshake-strategic_alignment": [
        "alliance=complementary",
        "governance=handshake",
        "governance.strategic_alignment=true",
    ],
    "ecosystem-handshake-orchestrator": [
        "alliance=ecosystem",
        "governance=handshake",
        "governance.orchestrator=true",
    ],
    "coopetition-handshake-explicit_expectations": [
        "alliance=coopetition",
        "governance=handshake",
        "governance.explicit_expectations=true",
    ],
    "complementary-committee-quarterly_meetings": [
        "alliance=complementary",
        "governance=committee",
        "governance.meeting_cadence=quarterly",
    ],
    # other seeds, shorter horizons, a larger cohort
    "complementary-full-seed1": ["alliance=complementary", "governance=full", "seed=1"],
    "ecosystem-meetings-volatile-seed7": [
        "alliance=ecosystem",
        "governance=meetings",
        "scenario=volatile",
        "seed=7",
    ],
    "coopetition-committee-52w": ["alliance=coopetition", "governance=committee", "horizon_weeks=52"],
    "ecosystem-full-pilot-78w": [
        "alliance=ecosystem",
        "governance=full",
        "launch=pilot",
        "horizon_weeks=78",
    ],
    "complementary-committee-n200": ["alliance=complementary", "governance=committee", "n_alliances=200"],
    # beyond the fitted window: ten years, a 26-week project at its sunset, small partners
    "complementary-handshake-520w": [
        "alliance=complementary",
        "governance=handshake",
        "horizon_weeks=520",
        "n_alliances=30",
    ],
    "complementary-light-project-26w": [
        "alliance=complementary",
        "governance=light",
        "horizon_weeks=26",
        "governance.sunset_week=26",
        "alliance.team_scale=0.05",
    ],
}
"""Cohorts by name: overrides of the composed configuration (before the engine is chosen)."""


def _with_defaults(overrides: list[str]) -> list[str]:
    keys = {o.split("=", 1)[0] for o in overrides}
    return ([] if "n_alliances" in keys else [f"n_alliances={N_ALLIANCES}"]) + overrides


RUNS: dict[str, list[str]] = {
    f"{case}/{engine}": [*_with_defaults(overrides), f"engine={engine}"]
    for case, overrides in CASES.items()
    for engine in ENGINES
}
"""Every run by name (``<case>/<engine>``): its complete list of Hydra overrides."""


# --- canonical serialisation -------------------------------------------------------------------


def _chunk(data: bytes) -> bytes:
    """Length-prefixed bytes, so that no two sequences of chunks serialise alike."""
    return struct.pack("<Q", len(data)) + data


def _text(value: str) -> bytes:
    return _chunk(value.encode("utf-8"))


def _float_bits(values: np.ndarray) -> bytes:
    """Exact little-endian IEEE-754 bits; every NaN is written as the one standard NaN."""
    values = np.asarray(values, dtype=np.float64)
    values = np.where(np.isnan(values), np.float64("nan"), values)
    return values.astype("<f8").tobytes()


def _array(values: np.ndarray) -> bytes:
    """A numeric or boolean numpy array: kind, item size, shape and values."""
    kind = values.dtype.kind
    if kind == "f":
        data = _float_bits(values)
        size = 8
    elif kind in "iu":
        data = values.astype(f"<{kind}{values.dtype.itemsize}").tobytes()
        size = values.dtype.itemsize
    elif kind == "b":
        data = values.astype(np.uint8).tobytes()
        size = 1
    else:
        raise TypeError(f"cannot fingerprint an array of dtype {values.dtype}")
    header = f"{kind}{size}:{','.join(map(str, values.shape))}"
    return _text(header) + _chunk(data)


def _value(value: Any) -> bytes:
    """One cell of an object column, tagged by its type."""
    if value is None or value is pd.NA or value is pd.NaT:
        return b"N"
    if isinstance(value, str):
        return b"S" + _text(value)
    if isinstance(value, bool | np.bool_):
        return b"B" + (b"1" if value else b"0")
    if isinstance(value, int | np.integer):
        return b"I" + _text(str(int(value)))
    if isinstance(value, float | np.floating):
        return b"F" + _float_bits(np.array([value]))
    if isinstance(value, np.ndarray):
        return b"A" + _array(value)
    if isinstance(value, list | tuple):
        return b"L" + _chunk(b"".join(_value(v) for v in value))
    raise TypeError(f"cannot fingerprint a value of type {type(value).__name__}: {value!r}")


def _column(series: pd.Series) -> Iterable[bytes]:
    """A canonical type name, then the values, for one column."""
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        categories = [str(c) for c in dtype.categories]
        yield _text(f"category(ordered={bool(dtype.ordered)})")
        yield _chunk(b"".join(_text(c) for c in categories))
        yield _array(np.asarray(series.cat.codes, dtype=np.int64))
    elif isinstance(dtype, pd.api.extensions.ExtensionDtype) and pd.api.types.is_integer_dtype(dtype):
        # nullable integers (Int64): the mask, then the values with missing ones as 0
        yield _text(f"nullable {dtype.name}")
        mask = np.asarray(series.isna(), dtype=bool)
        yield _array(mask)
        yield _array(np.asarray(series.fillna(0), dtype=dtype.numpy_dtype))
    elif pd.api.types.is_string_dtype(dtype) and all(isinstance(v, str) for v in series):
        # object or string columns of text are both written to parquet as strings
        yield _text("string")
        yield _chunk(b"".join(_text(v) for v in series))
    elif pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
        yield _text("object")
        yield _chunk(b"".join(_value(v) for v in series))
    else:
        yield _text(np.dtype(dtype).name)
        yield _array(np.asarray(series))


def table_hash(frame: pd.DataFrame) -> str:
    """SHA-256 of a table's column names, canonical column types and values, in row order."""
    digest = hashlib.sha256()
    digest.update(_text(f"rows={len(frame)} columns={frame.shape[1]}"))
    for name in frame.columns:
        digest.update(_text(str(name)))
        for part in _column(frame[name]):
            digest.update(part)
    return digest.hexdigest()


def _counts(series: pd.Series) -> dict[str, int]:
    counts = series.value_counts(sort=False)
    return {str(k): int(v) for k, v in counts.items()}


def fingerprint(result: Any) -> dict[str, Any]:
    """The fingerprint of one cohort result: its two table hashes and a few numbers to diagnose by."""
    alliances, events = result.alliances, result.events
    return {
        "alliances_sha256": table_hash(alliances),
        "events_sha256": table_hash(events),
        "alliances_rows": len(alliances),
        "events_rows": len(events),
        "outcomes": _counts(alliances["outcome"]),
        "event_kinds": _counts(events["kind"]),
    }


# --- running and comparing ---------------------------------------------------------------------


def run(name: str) -> dict[str, Any]:
    """Simulate the run ``name`` of :data:`RUNS` and return its overrides and fingerprint."""
    from sim import load_config, run_cohort

    overrides = RUNS[name]
    return {"overrides": overrides, **fingerprint(run_cohort(load_config(overrides)))}


def compute(names: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
    return {name: run(name) for name in (RUNS if names is None else names)}


def differences(baseline: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """What differs between two records of one run, as short readable lines."""
    lines = []
    for key in sorted(set(baseline) | set(current)):
        old, new = baseline.get(key), current.get(key)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            for sub in sorted(set(old) | set(new)):
                if old.get(sub) != new.get(sub):
                    lines.append(f"{key}.{sub}: {old.get(sub)} -> {new.get(sub)}")
        elif key.endswith("sha256"):
            lines.append(f"{key}: {str(old)[:12]} -> {str(new)[:12]}")
        else:
            lines.append(f"{key}: {old} -> {new}")
    return lines


def load_baseline(path: Path = BASELINE) -> dict[str, dict[str, Any]]:
    return json.loads(path.read_text())["runs"]


def check(
    names: Iterable[str] | None = None,
    baseline_path: Path = BASELINE,
    out: Callable[[str], None] = print,
) -> list[str]:
    """Run ``names`` (default: all of :data:`RUNS`) and compare each with the baseline.

    Prints one line per run and returns the names of the runs that differ (a
    run missing from the baseline counts as differing; when every run is
    checked, so does a baseline entry that is no longer in :data:`RUNS`).
    """
    baseline = load_baseline(baseline_path)
    selected = list(RUNS if names is None else names)
    width = max(len(n) for n in selected)
    changed = []
    for name in selected:
        current = run(name)
        if name not in baseline:
            out(f"{name:<{width}}  CHANGED: not in the baseline")
            changed.append(name)
            continue
        diff = differences(baseline[name], current)
        if diff:
            out(f"{name:<{width}}  CHANGED: " + "; ".join(diff))
            changed.append(name)
        else:
            out(f"{name:<{width}}  unchanged")
    if names is None:
        for name in sorted(set(baseline) - set(RUNS)):
            out(f"{name:<{width}}  CHANGED: in the baseline but no longer run")
            changed.append(name)
    return changed


def git_revision() -> str | None:
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def record(path: Path = BASELINE, out: Callable[[str], None] = print) -> None:
    """Run every run of :data:`RUNS` and write the baseline."""
    runs = {}
    for name in RUNS:
        runs[name] = run(name)
        out(f"{name}  recorded")
    meta = {
        "git_revision": git_revision(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "pandas": pd.__version__,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"recorded_with": meta, "runs": runs}, indent=1) + "\n")
    out(f"wrote {len(runs)} runs to {path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--record", action="store_true", help="write the baseline instead of checking")
    parser.add_argument("--baseline", type=Path, default=BASELINE, help="baseline file")
    parser.add_argument("--only", nargs="+", metavar="RUN", help="check only these runs")
    parser.add_argument("--list", action="store_true", help="list the runs and their overrides")
    args = parser.parse_args(argv)
    if args.list:
        for name, overrides in RUNS.items():
            print(f"{name}: {' '.join(overrides)}")
        return 0
    if args.only:
        unknown = [n for n in args.only if n not in RUNS]
        if unknown:
            parser.error(f"unknown runs: {', '.join(unknown)} (see --list)")
    start = time.perf_counter()
    if args.record:
        if args.only:
            parser.error("--record writes every run; it cannot be combined with --only")
        record(args.baseline)
        return 0
    changed = check(args.only, args.baseline)
    total = len(args.only) if args.only else len(RUNS)
    elapsed = time.perf_counter() - start
    if changed:
        print(f"{len(changed)} of {total} runs CHANGED ({elapsed:.0f} s): {', '.join(changed)}")
        return 1
    print(f"all {total} runs unchanged ({elapsed:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
