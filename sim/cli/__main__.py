"""``python -m sim.cli``: the ``alliance-sim`` command."""

from sim.cli import console_main

console_main()
