"""Each adaptation of Hydra in sim/cli/hydra_support.py holds on the installed Hydra.

Hydra is bounded below 1.4 in pyproject.toml; these tests say at once when a Hydra release
moves what the adaptations rely on.
"""

from __future__ import annotations

from omegaconf import OmegaConf

from sim.cli.hydra_support import SERIAL_LAUNCHER, ReusedCompositions, StudyConfigSource, runs_cells_here


def test_the_serial_launcher_is_named_as_hydra_names_it() -> None:
    from hydra._internal.core_plugins.basic_launcher import BasicLauncher

    assert f"{BasicLauncher.__module__}.{BasicLauncher.__qualname__}" == SERIAL_LAUNCHER
    here = OmegaConf.create({"hydra": {"launcher": {"_target_": SERIAL_LAUNCHER}}})
    joblib = OmegaConf.create(
        {
            "hydra": {
                "launcher": {"_target_": "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher"}
            }
        }
    )
    assert runs_cells_here(here) and not runs_cells_here(joblib)


def test_a_study_file_header_is_read_by_the_config_sources_helper() -> None:
    source = StudyConfigSource(provider="test", path="alliance-studies:///nowhere")
    assert source._get_header_dict("# @package _global_\nn_alliances: 5\n") == {"package": "_global_"}
    assert source._normalize_file_name("pilot_vs_full") == "pilot_vs_full.yaml"


def test_the_sweep_loader_can_be_served_and_put_back() -> None:
    """ReusedCompositions replaces load_sweep_config on the loader instance only, and removing
    it leaves the class's method."""
    from hydra._internal.config_loader_impl import ConfigLoaderImpl

    assert callable(ConfigLoaderImpl.load_sweep_config)

    class Loader(ConfigLoaderImpl):
        def __init__(self) -> None:  # no search path needed for this check
            pass

    loader = Loader()
    master = OmegaConf.create({"a": 1})
    cell = OmegaConf.create({"a": 2})
    ReusedCompositions.install(loader, master, {("a=2",): cell})
    served = loader.load_sweep_config(master, ["a=2"])
    assert served == cell and served is not cell  # a copy: the launcher edits its own
    ReusedCompositions.remove(loader)
    assert loader.load_sweep_config.__func__ is ConfigLoaderImpl.load_sweep_config
