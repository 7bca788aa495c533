"""Studies: named sweeps whose cells run one by one and are kept.

* :mod:`sim.studies.store`: finished cells, kept by configuration and model code;
* :mod:`sim.studies.scheduler` and :mod:`sim.studies.worker`: a second process computes
  cells from the last one back while the launcher runs them from the first;
* :mod:`sim.studies.files`: study files (``experiments/*.yaml``) and their checks.

The command line (:mod:`sim.cli`) composes a study with Hydra and runs its cells through
these; nothing here imports Hydra.
"""
