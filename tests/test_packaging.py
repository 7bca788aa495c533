"""Packaging: a cheap ``import sim``.

``import sim`` (and ``import sim.params``) must not load Hydra, OmegaConf,
matplotlib, statsmodels, lifelines, Mesa or pandas: the package's public names
are imported on first use.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
HEAVY = ("hydra", "omegaconf", "matplotlib", "statsmodels", "lifelines", "mesa", "pandas", "scipy", "numba")
"""Top-level packages that a bare ``import sim`` must not load."""


def run_python(*args: str, cwd: Path = REPO, timeout: float = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env
    )


def imported_packages(statement: str) -> set[str]:
    """Top-level packages that ``python -X importtime -c statement`` loads (from its report)."""
    proc = run_python("-X", "importtime", "-c", statement)
    assert proc.returncode == 0, proc.stderr[-4000:]
    names = set()
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            module = line.rsplit("|", 1)[1].strip()
            if module != "imported package":  # the report's header
                names.add(module.split(".")[0])
    return names


@pytest.mark.parametrize("statement", ["import sim", "import sim.params"])
def test_importing_the_package_loads_no_heavy_dependency(statement):
    loaded = imported_packages(statement)
    assert "sim" in loaded
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_the_public_names_still_work():
    import sim
    from sim.agents import Alliance, Firm
    from sim.model import AllianceModel
    from sim.params import ConfigError, SimulationConfig
    from sim.runner import run_cohort

    assert (sim.Alliance, sim.Firm, sim.AllianceModel) == (Alliance, Firm, AllianceModel)
    assert (sim.ConfigError, sim.SimulationConfig, sim.run_cohort) == (
        ConfigError,
        SimulationConfig,
        run_cohort,
    )
    assert callable(sim.load_config)
    assert set(sim.__all__) <= set(dir(sim))
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = sim.no_such_name  # type: ignore[attr-defined]
    from sim import kernels  # submodules still import with `from sim import ...`

    assert kernels.__name__ == "sim.kernels"
