"""The classroom: a web app in which a class watches a small market of alliances live, changes
the charter, injects events and replays the same alliances side by side under two charters.

``session`` (the Mesa models, injected events, the weekly series and event feed), ``presets``
(the nine classic situations and the three alliance models), ``figures`` and ``view`` (the
network and the charts), ``debrief`` (the export), ``app`` (the Solara page), ``cli``
(``alliance-sim-app``). The model package never imports this one.
"""
