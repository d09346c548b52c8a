"""Judge a release cycle on a given day: its status and the dates that bound it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TypedDict

from posture.lifecycle.data import Cycle, Product, cycle_key
from posture.lifecycle.vocabulary import SupportStatus

# Untrusted strings longer than this are not version strings: refuse them before any regex.
MAX_INPUT_LENGTH = 256


class Window(TypedDict):
    """The support fields every result carries, as keyword arguments for its constructor."""

    status: SupportStatus
    active_end: date | None
    standard_end: date | None
    extended_end: date | None
    eol: date | None
    days_left: int | None
    phase_end: date | None
    phase_days_left: int | None
    source: str
    estimated: bool
    note: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Support:
    """Where a release stands on one day.

    Every date is the last day of its phase: ``active_end`` (active/full/mainstream support),
    ``standard_end`` (the vendor's standard support, maintenance included), ``extended_end``
    (a paid or opt-in extended programme, where one exists) and ``eol``, the last day of any
    support (``extended_end`` when there is one, else ``standard_end``). ``days_left`` counts
    from the given day to ``eol``: 0 on the last day, negative once past. ``phase_end`` is the
    last day of the current status (e.g. when a supported release drops to maintenance or to
    paid extended support) and ``phase_days_left`` counts to it; both are None once end of life
    or when no end is known. ``estimated`` marks a projected or derived date; ``note`` says what
    was assumed.
    """

    status: SupportStatus
    active_end: date | None = None
    standard_end: date | None = None
    extended_end: date | None = None
    eol: date | None = None
    days_left: int | None = None
    phase_end: date | None = None
    phase_days_left: int | None = None
    source: str = ""
    estimated: bool = False
    note: str = ""


def window(cycle: Cycle, today: date, note: str = "") -> Window:
    """Return the support window of ``cycle`` as it stands on ``today``."""
    phase_end: date | None
    if cycle.eol is not None and today > cycle.eol:
        extended = cycle.eoes is not None and today <= cycle.eoes
        status = SupportStatus.EXTENDED if extended else SupportStatus.EOL
        phase_end = cycle.eoes if extended else None
    elif cycle.eoas is not None and today > cycle.eoas:
        status, phase_end = SupportStatus.MAINTENANCE, cycle.eol
    else:
        status, phase_end = SupportStatus.SUPPORTED, cycle.eoas or cycle.eol
    end = cycle.eoes or cycle.eol
    return Window(
        status=status,
        active_end=cycle.eoas,
        standard_end=cycle.eol,
        extended_end=cycle.eoes,
        eol=end,
        days_left=_days(today, end),
        phase_end=phase_end,
        phase_days_left=_days(today, phase_end),
        source=cycle.source,
        estimated=cycle.estimated,
        note="; ".join(part for part in (note, cycle.note) if part),
    )


def window_of(support: Support, note: str) -> Window:
    """Return the window carried by ``support``, with ``note`` in place of its own."""
    return Window(
        status=support.status,
        active_end=support.active_end,
        standard_end=support.standard_end,
        extended_end=support.extended_end,
        eol=support.eol,
        days_left=support.days_left,
        phase_end=support.phase_end,
        phase_days_left=support.phase_days_left,
        source=support.source,
        estimated=support.estimated,
        note=note,
    )


def _days(today: date, end: date | None) -> int | None:
    return None if end is None else (end - today).days


def unknown(source: str = "", note: str = "") -> Window:
    """Return the window of something the data cannot judge."""
    return Window(
        status=SupportStatus.UNKNOWN,
        active_end=None,
        standard_end=None,
        extended_end=None,
        eol=None,
        days_left=None,
        phase_end=None,
        phase_days_left=None,
        source=source,
        estimated=False,
        note=note,
    )


def judge(product: Product, name: str, today: date, note: str = "") -> Window:
    """Return the window of cycle ``name`` of ``product``.

    A cycle missing from the data is end of life when it is older than every listed cycle and
    the oldest listed one is itself past all support; otherwise it is unknown.
    """
    cycle = product.cycle(name)
    if cycle is not None:
        return window(cycle, today, note)
    if older_than_all(product, name):
        oldest = min((c for c in product.cycles if c.key is not None), key=lambda c: c.key or ())
        if window(oldest, today)["status"] is SupportStatus.EOL:
            past = unknown(product.source,
                           f"{product.label} {name} is older than every release in the data")
            past["status"] = SupportStatus.EOL
            return past
    return unknown(product.source, f"{product.label} {name} is not in the lifecycle data")


def older_than_all(product: Product, name: str) -> bool:
    """Return whether cycle ``name`` sorts before every numeric cycle of ``product``."""
    key = cycle_key(name)
    keys = [c.key for c in product.cycles if c.key is not None]
    return key is not None and bool(keys) and all(key < k for k in keys)


def newer_than_all(product: Product, name: str) -> bool:
    """Return whether cycle ``name`` sorts after every numeric cycle of ``product``."""
    key = cycle_key(name)
    keys = [c.key for c in product.cycles if c.key is not None]
    return key is not None and bool(keys) and all(key > k for k in keys)


def clean(text: object) -> str | None:
    """Return ``text`` stripped when it is a plausible version string, else None."""
    if not isinstance(text, str) or len(text) > MAX_INPUT_LENGTH:
        return None
    return text.strip()
