"""Output to a pipe whose reader has gone (``alliance-stress charter.yaml | head -1``)."""

from __future__ import annotations

import os
import sys
from typing import NoReturn


def say(*lines: str) -> None:
    """Print ``lines``; a reader that has gone away does not stop the command: what is left to
    print goes nowhere, the work goes on and is written as usual."""
    try:
        for line in lines:
            print(line, flush=True)
    except BrokenPipeError:
        _to_nowhere()


def reader_gone() -> NoReturn:
    """A print outside :func:`say` met a reader that had gone: stop quietly, status 1, no traceback."""
    _to_nowhere()
    sys.exit(1)


def _to_nowhere() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())  # later prints and the interpreter's last flush succeed
