"""Fixtures for alerts: local webhook receivers, and http:// allowed for them."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.alerts.receivers import Receiver


@pytest.fixture
def receiver_factory(settings) -> Iterator[Callable[..., Receiver]]:
    settings.POSTURE_ALERT_ALLOW_HTTP = True
    settings.POSTURE_ALERT_RETRY_SECONDS = 0
    settings.POSTURE_ALERT_TIMEOUT_SECONDS = 2
    settings.POSTURE_BASE_URL = "https://posture.example"
    made: list[Receiver] = []

    def make(script: list[int | str] | None = None) -> Receiver:
        receiver = Receiver(script)
        made.append(receiver)
        return receiver

    yield make
    for receiver in made:
        receiver.stop()


@pytest.fixture
def receiver(receiver_factory) -> Receiver:
    return receiver_factory()
