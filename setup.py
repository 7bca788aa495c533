"""Build hook: a built package carries the Hydra configs and the study files.

``configs/`` and ``experiments/*.yaml`` stay where they are in the repository
(the source of truth); building a wheel copies them into the package as
``sim/_data/configs/`` and ``sim/_data/experiments/``, where the installed
command line finds them (see ``sim.defaults.data_dir``). An editable install reads
the checkout's folders directly, so nothing is copied for it.

Everything else about the project is declared in ``pyproject.toml``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
DATA = {
    "configs": "**/*.yaml",  # every config group, including hydra/launcher/
    "experiments": "*.yaml",  # the studies (the scripts beside them are not part of the package)
}


class BuildPyWithData(build_py):
    """``build_py`` that also copies ``configs/`` and the study files into ``sim/_data/``."""

    def run(self) -> None:
        if not self.editable_mode:
            # start from an empty build/lib/sim: a module deleted from the source never lingers in a wheel
            shutil.rmtree(Path(self.build_lib) / "sim", ignore_errors=True)
        super().run()
        if self.editable_mode:
            return
        target = Path(self.build_lib) / "sim" / "_data"
        for folder, pattern in DATA.items():
            files = sorted((HERE / folder).glob(pattern))
            if not files:
                raise SystemExit(f"error: no {pattern} files in {HERE / folder}: cannot build the package")
            for source in files:
                destination = target / folder / source.relative_to(HERE / folder)
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, destination)


setup(cmdclass={"build_py": BuildPyWithData})
