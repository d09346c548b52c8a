"""Emulators started per test and stopped after it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from emulator import Emulator, start_emulator


@pytest.fixture
def emulate() -> Iterator[Callable[..., Emulator]]:
    """Start emulators by scenario; all are stopped after the test."""
    running: list[Emulator] = []

    def start(scenario: str, **kwargs: Any) -> Emulator:
        emulator = start_emulator(scenario, **kwargs)
        running.append(emulator)
        return emulator

    yield start
    for emulator in running:
        emulator.stop()
