"""The practitioner's stress test: a charter file in, a risk report out.

``alliance-stress CHARTER.yaml`` reads a charter (:mod:`sim.stress.charter`),
maps it to the model's parameters (:mod:`sim.stress.mapping`), runs it through
the cohort engine under a battery of stressors and single clause changes on the
same alliances (:mod:`sim.stress.stressors`, :mod:`sim.stress.runner`) and
writes a self-contained report (:mod:`sim.stress.report`).
"""
