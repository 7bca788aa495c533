"""Times ``alliance-stress`` on an example charter, the default report and ``--quick``.

Each run is a fresh process (imports, loading the compiled model from its cache, the
simulation and the report), as a practitioner would run it; prints one JSON line.

    python experiments/stress_timing.py [CHARTER.yaml] [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def time_once(charter: Path, quick: bool) -> float:
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "sim.stress.cli", str(charter), "--out", out, "--no-progress"]
        started = time.perf_counter()
        subprocess.run([*command, *(["--quick"] if quick else [])], check=True, capture_output=True)
        return time.perf_counter() - started


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
                "quick_s": round(statistics.median(quick), 2),
                "default_s": round(statistics.median(default), 2),
                "quick_runs_s": [round(t, 2) for t in quick],
                "default_runs_s": [round(t, 2) for t in default],
            }
        )
    )


if __name__ == "__main__":
    main()
