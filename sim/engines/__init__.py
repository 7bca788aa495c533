"""The engines that run the mechanisms: the Mesa model (:mod:`sim.model`), one agent at a
time, and the compiled cohort loop (:mod:`sim.engines.cohort`); the week's phase order,
which both follow, is declared once in :mod:`sim.engines.phases`."""
