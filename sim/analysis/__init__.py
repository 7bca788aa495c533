"""Analysis of model results: study reports, summaries with intervals, the calibration's
patterns and the checks of the expected directions.

It reads what the model (:mod:`sim`) produces and never changes it; the model imports
nothing from here. Statistics and plotting packages are loaded only by these modules.
"""
