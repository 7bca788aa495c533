"""Packaging: a cheap ``import sim``, studies read only when used, and a wheel that works on its own.

``import sim`` (and ``import sim.params``) must not load Hydra, OmegaConf,
matplotlib, statsmodels, lifelines, Mesa or pandas: the package's public names
are imported on first use. Study files are read only when their study is
selected, so a broken one breaks nothing else. The built wheel carries
``configs/`` and the studies, and its command line runs from an empty folder
(``scripts/check_wheel.sh``, slow: it installs the wheel into a new venv).
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
    from sim.engines.mesa_agents import Alliance, Firm
    from sim.engines.mesa_model import AllianceModel
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
    from sim import levers  # submodules still import with `from sim import ...`

    assert levers.__name__ == "sim.levers"


def test_the_command_line_reads_no_study_file_until_one_is_used():
    """Importing sim.cli opens no study file; composing one study opens only that one."""
    script = (
        "import sys\n"
        "opened = []\n"
        "sys.addaudithook(lambda event, args: opened.append(str(args[0])) if event == 'open' else None)\n"
        "import sim.cli\n"
        "import sim.config\n"
        "folder = str(sim.cli.EXPERIMENT_DIR)\n"
        "at_import = [p for p in opened if p.startswith(folder)]\n"
        "sim.config.load_config(['+experiment=pilot_vs_full'])\n"
        "studies = sorted({p for p in opened if p.startswith(folder) and p.endswith('.yaml')})\n"
        "print(at_import, [p.rsplit('/', 1)[1] for p in studies])\n"
    )
    proc = run_python("-c", script)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert proc.stdout.strip() == "[] ['pilot_vs_full.yaml']", proc.stdout


@pytest.fixture
def studies_with_a_broken_one(tmp_path, monkeypatch):
    """The real study files plus ``broken.yaml``, which is not valid YAML."""
    import sim.cli
    import sim.config

    folder = tmp_path / "experiments"
    folder.mkdir()
    for path in sim.cli.EXPERIMENT_DIR.glob("*.yaml"):
        (folder / path.name).write_bytes(path.read_bytes())
    (folder / "broken.yaml").write_text("study: {name: broken\nn_alliances: [1, 2\n")
    monkeypatch.setattr(sim.cli, "EXPERIMENT_DIR", folder)
    monkeypatch.setattr(sim.config, "EXPERIMENT_DIR", folder)
    return folder


def test_a_broken_study_file_breaks_only_its_own_study(studies_with_a_broken_one):
    import sim.cli
    import sim.config

    assert "broken" in sim.cli.study_names()
    assert "broken" in sim.config.study_names()
    assert sim.config.load_config(["n_alliances=7"]).n_alliances == 7
    config = sim.config.load_config(["+experiment=governance_vs_failure"])
    assert (config.n_alliances, config.seed) == (2000, 2026)
    with pytest.raises(Exception, match="broken"):
        sim.config.load_config(["+experiment=broken"])


def test_an_unknown_study_lists_the_studies():
    import sim.cli
    import sim.config

    with pytest.raises(Exception, match="governance_vs_failure") as error:
        sim.config.load_config(["+experiment=no_such_study"])
    assert "no_such_study" in str(error.value)


def test_study_files_keep_their_global_package():
    """A study changes top-level keys (n_alliances, hydra.sweeper...), not an ``experiment:`` node."""
    import sim.cli
    import sim.config

    config = sim.config.load_config(["+experiment=situation_coopetition"])
    assert config.alliance.type.value == "coopetition"  # its defaults-list override took effect
    assert config.alliance.ip_exposure == 0.9


def test_a_checkout_reads_its_own_folders():
    import sim.cli

    assert not (REPO / "sim" / "_data").exists(), "sim/_data is built into wheels only"
    assert sim.cli.CONFIG_DIR == REPO / "configs"
    assert sim.cli.EXPERIMENT_DIR == REPO / "experiments"


def test_the_sdist_manifest_and_the_build_hook_agree():
    """What setup.py copies into the wheel is in the source distribution too."""
    manifest = (REPO / "MANIFEST.in").read_text()
    assert "graft configs" in manifest
    assert "include experiments/*.yaml" in manifest
    setup = (REPO / "setup.py").read_text()
    assert '"configs": "**/*.yaml"' in setup
    assert '"experiments": "*.yaml"' in setup


@pytest.mark.slow
def test_the_wheel_runs_from_an_empty_folder():
    """scripts/check_wheel.sh: build, install into a fresh venv, run a cohort and the headline study."""
    script = REPO / "scripts" / "check_wheel.sh"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run(
        ["bash", str(script)], cwd=REPO, capture_output=True, text=True, timeout=1200, env=env
    )
    assert proc.returncode == 0, f"{proc.stdout[-6000:]}\n--- stderr\n{proc.stderr[-6000:]}"
    assert "study: 12 cells x 100 alliances" in proc.stdout, proc.stdout[-3000:]
    assert "the installed wheel works from an empty folder" in proc.stderr


ANALYSIS_AND_FRONT_ENDS = ("hydra", "omegaconf", "matplotlib", "statsmodels", "lifelines", "sim.analysis")


def test_the_model_imports_no_analysis_plotting_or_hydra():
    """Layers: the model's modules import no analysis, statistics, plotting or Hydra, at module
    level or inside a function; sim/analysis/, the studies (sim/studies/), the stress test
    (sim/stress/), the command line (sim/cli/) and the classroom app (sim/classroom/) sit on
    top of it (so do sim/config.py and sim/validation.py, which read study files)."""
    import ast

    package = Path(__file__).resolve().parent.parent / "sim"
    above = ("analysis", "stress", "classroom", "cli", "studies")
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package)
        if relative.parts[0] in above or relative.parts[0] == "_data":
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                if relative.name in ("config.py", "validation.py") and name.startswith("sim.studies"):
                    continue  # composing a study reads its file
                assert not name.startswith(ANALYSIS_AND_FRONT_ENDS), f"sim/{relative} imports {name}"
