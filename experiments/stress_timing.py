"""Times ``alliance-stress`` on an example charter, the default report and ``--quick``.

Each run is a fresh process (imports, loading the compiled model from its cache, the
simulation and the report), as a practitioner would run it; prints one JSON line with the
wall-clock times, the processor time the runs used (user + system, which other work on a
shared machine does not inflate) and the load average while they ran.

    python experiments/stress_timing.py [CHARTER.yaml] [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def time_once(charter: Path, quick: bool) -> tuple[float, float]:
    """Wall-clock and processor seconds of one run."""
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "sim.stress.cli", str(charter), "--out", out, "--no-progress"]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run([*command, *(["--quick"] if quick else [])], check=True, capture_output=True)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "charter", nargs="?", type=Path, default=ROOT / "examples/charters/renewable_subsidy.yaml"
    )
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    time_once(args.charter, quick=True)  # the compiled model in the cache, as after a first run
    quick = [time_once(args.charter, quick=True) for _ in range(args.repeat)]
    default = [time_once(args.charter, quick=False) for _ in range(args.repeat)]
    print(
        json.dumps(
            {
                "charter": str(args.charter),
                "quick_s": round(statistics.median(t for t, _ in quick), 2),
                "default_s": round(statistics.median(t for t, _ in default), 2),
                "quick_cpu_s": round(statistics.median(c for _, c in quick), 2),
                "default_cpu_s": round(statistics.median(c for _, c in default), 2),
                "cores": os.cpu_count(),
                "load_average_1min": round(os.getloadavg()[0], 2),
            }
        )
    )


if __name__ == "__main__":
    main()
