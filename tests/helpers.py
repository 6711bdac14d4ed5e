"""Small builders shared by tests (plain data, no mocks)."""

from __future__ import annotations

import json
from typing import Any

from kafka import KafkaAdminClient

from distillguard.config import Settings


def valid_event(**overrides: Any) -> dict[str, Any]:
    event = {
        "event_id": "evt-1",
        "ts": "2026-11-02T13:04:05.123Z",
        "account_id": "acct-a",
        "api_key_id": "key-a",
        "client_ip": "203.0.113.7",
        "endpoint": "/v1/chat/completions",
        "model": "model-large",
        "status": 200,
        "prompt_tokens": 12,
        "completion_tokens": 40,
    }
    event.update(overrides)
    return event


def line(event: dict[str, Any]) -> bytes:
    return json.dumps(event).encode()


def committed_offsets(settings: Settings) -> dict[int, int]:
    """The consumer group's committed offset per partition of the events topic, read from the broker."""
    admin = KafkaAdminClient(bootstrap_servers=[settings.kafka.bootstrap_servers])
    try:
        offsets = admin.list_group_offsets(settings.kafka.group_id).get(settings.kafka.group_id, {})
    finally:
        admin.close()
    return {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == settings.kafka.topic_events}
