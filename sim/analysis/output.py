"""A run's results on disk: its tables, summary, validated configuration and provenance.

Above the model: the summary is the analysis layer's (:mod:`sim.analysis.summaries`).
"""

from __future__ import annotations

import functools
import json
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from sim.analysis.summaries import format_summary, summarize
from sim.params import SimulationConfig
from sim.results import CohortResult

PACKAGES = (
    "mesa",
    "numpy",
    "networkx",
    "pandas",
    "pyarrow",
    "scipy",
    "statsmodels",
    "hydra-core",
    "omegaconf",
)


def provenance(config: SimulationConfig, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Where a result came from: seed, engine, package versions, git revision, interpreter."""
    return {
        "seed": config.seed,
        "engine": config.engine.value,
        "n_alliances": config.n_alliances,
        "horizon_weeks": config.horizon_weeks,
        "git_revision": git_revision(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": package_versions(),
        **(extra or {}),
    }


@functools.cache
def _package_versions() -> tuple[tuple[str, str | None], ...]:
    versions: list[tuple[str, str | None]] = []
    for name in ("alliance-sim", *PACKAGES):
        try:
            versions.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            versions.append((name, None))
    return tuple(versions)


def package_versions() -> dict[str, str | None]:
    """Installed versions of this package and the libraries its results depend on (read once)."""
    return dict(_package_versions())


@functools.cache
def git_revision() -> str | None:
    """The source tree's commit, with ``+dirty`` if it has uncommitted changes; None outside a checkout.

    Read once per process: the revision of the code this process runs.
    """
    root = Path(__file__).resolve().parent.parent.parent
    if not (root / "pyproject.toml").is_file():  # installed, not run from the source tree
        return None
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{rev}+dirty" if dirty else rev


def write_results(
    result: CohortResult, out_dir: Path, extra_provenance: dict[str, Any] | None = None
) -> dict:
    """Write the tables, summary, validated config and provenance of one cohort into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    result.alliances.to_parquet(out_dir / "alliances.parquet", index=False)
    result.timeseries.to_parquet(out_dir / "timeseries.parquet", index=False)
    result.events.to_parquet(out_dir / "events.parquet", index=False)
    summary = summarize(result.alliances)
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out_dir / "summary.txt").write_text(format_summary(summary) + "\n")
    (out_dir / "config.json").write_text(json.dumps(result.config.to_dict(), indent=2) + "\n")
    (out_dir / "provenance.json").write_text(
        json.dumps(provenance(result.config, extra_provenance), indent=2) + "\n"
    )
    return summary
