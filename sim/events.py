"""The event log: shocks, renegotiations, escalations, departures, exits, scale-ups, endings.

Engines record events as numbers (kind, two integer payloads, one float
payload) in chunks, which costs little even for millions of events; the
human-readable ``detail`` text is formatted once, when the table is built.
Both engines share this log, so their event tables are identical whenever
their events are.

Payloads by kind:

==========================  ==================  ==========================  ============
kind                        ``a``               ``b``                       ``x``
==========================  ==================  ==========================  ============
shock                       ShockKind           -                           size
renegotiation               0 trigger, 1 crisis -                           -
escalation                  issues escalated    -                           -
key_contact_departure       partner slot        -                           -
partner_exit                partner slot        -                           -
scale_up                    -                   -                           -
ending                      Outcome index       mode * 32 + cause, or -1    -
==========================  ==================  ==========================  ============
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from sim.vocabulary import OUTCOMES, Cause, EventKind, FailureMode, ShockKind

KIND_CODES = {kind: i for i, kind in enumerate(EventKind)}
KINDS = list(EventKind)
RENEGOTIATION_REASONS = ("trigger", "crisis")
ENDING_CODE_BASE = 32


class EventLog:
    """Events as numeric chunks, formatted into a table on demand."""

    def __init__(self) -> None:
        self._chunks: list[tuple[Any, ...]] = []  # (week, ids, kind, a, b, x)
        self._given: tuple[np.ndarray, ...] | None = None

    @classmethod
    def from_columns(
        cls, week: np.ndarray, ids: np.ndarray, kind: np.ndarray, a: np.ndarray, b: np.ndarray, x: np.ndarray
    ) -> EventLog:
        """A log of events given as columns (kind as its position in ``EventKind``)."""
        log = cls()
        log._given = (week, ids, kind, a, b, x)
        return log

    def add(
        self,
        week: int,
        alliance_ids: np.ndarray,
        kind: EventKind,
        a: np.ndarray | int = 0,
        b: np.ndarray | int = -1,
        x: np.ndarray | float = 0.0,
    ) -> None:
        """Record ``kind`` for every alliance in ``alliance_ids`` at ``week`` (weeks elapsed).

        Payloads are scalars or arrays as long as ``alliance_ids``; they are
        stored as given and broadcast once, when the table is built.
        """
        if len(alliance_ids) == 0:
            return
        self._chunks.append((week, alliance_ids, KIND_CODES[kind], a, b, x))

    def add_one(
        self, week: int, alliance_id: int, kind: EventKind, a: int = 0, b: int = -1, x: float = 0.0
    ) -> None:
        self.add(week, np.array([alliance_id]), kind, a, b, x)

    def __len__(self) -> int:
        if self._given is not None:
            return len(self._given[0])
        return sum(len(c[1]) for c in self._chunks)

    def _columns(self) -> tuple[np.ndarray, ...]:
        chunks = self._chunks
        n = np.array([len(c[1]) for c in chunks], dtype=np.int64)
        week = np.repeat(np.array([c[0] for c in chunks], dtype=np.int64), n)
        kind = np.repeat(np.array([c[2] for c in chunks], dtype=np.int64), n)
        ids = np.concatenate([np.asarray(c[1], dtype=np.int64) for c in chunks])

        ends = np.cumsum(n).tolist()

        def payload(i: int, dtype: type) -> np.ndarray:
            # scalars broadcast in one repeat; array payloads then written over their chunk
            scalars = [0 if isinstance(c[i], np.ndarray) else c[i] for c in chunks]
            out: np.ndarray = np.repeat(np.array(scalars, dtype=dtype), n)
            for c, end in zip(chunks, ends, strict=True):
                if isinstance(c[i], np.ndarray):
                    out[end - len(c[1]) : end] = c[i]
            return out

        return week, ids, kind, payload(3, np.int64), payload(4, np.int64), payload(5, np.float64)

    def to_frame(self) -> pd.DataFrame:
        """The event table in canonical order (week, alliance, kind, payload)."""
        if self._given is not None:
            week, ids, kind, a, b, x = self._given
        elif self._chunks:
            week, ids, kind, a, b, x = self._columns()
        else:
            week = ids = kind = a = b = np.empty(0, dtype=np.int64)
            x = np.empty(0, dtype=np.float64)
        order = np.lexsort((x, b, a, kind, ids, week))
        week, ids, kind, a, b, x = (arr[order] for arr in (week, ids, kind, a, b, x))
        detail = np.empty(len(week), dtype=object)
        for code, event in enumerate(KINDS):
            sel = kind == code
            if sel.any():
                detail[sel] = _details(event, a[sel], b[sel], x[sel])
        return pd.DataFrame(
            {
                "week": week,
                "alliance_id": ids,
                "kind": pd.Categorical.from_codes(kind, categories=[k.value for k in KINDS]),
                "detail": detail,  # every entry a str
            }
        )


SHOCK_LABELS = [kind.label for kind in ShockKind]
MODES = list(FailureMode)


def _ending(outcome: int, code: int) -> str:
    text = OUTCOMES[outcome].value
    if code >= 0:
        mode, cause = divmod(code, ENDING_CODE_BASE)
        text = f"{text} {MODES[mode].value} {Cause(cause).label}"
    return text


def _details(kind: EventKind, a: np.ndarray, b: np.ndarray, x: np.ndarray) -> list[str]:
    if kind is EventKind.SHOCK:
        return [f"{SHOCK_LABELS[k]} size={s:.3f}" for k, s in zip(a.tolist(), x.tolist(), strict=True)]
    if kind is EventKind.RENEGOTIATION:
        return [RENEGOTIATION_REASONS[k] for k in a.tolist()]
    if kind is EventKind.ESCALATION:
        return [f"issues={k}" for k in a.tolist()]
    if kind in (EventKind.KEY_CONTACT_DEPARTURE, EventKind.PARTNER_EXIT):
        return [f"partner={k}" for k in a.tolist()]
    if kind is EventKind.SCALE_UP:
        return ["pilot scaled up"] * len(a)
    texts: dict[tuple[int, int], str] = {}  # a cohort has few distinct endings
    out = []
    for key in zip(a.tolist(), b.tolist(), strict=True):
        text = texts.get(key)
        if text is None:
            text = texts[key] = _ending(*key)
        out.append(text)
    return out
