"""Small builders shared by tests (plain data, no mocks)."""

from __future__ import annotations

import json
from typing import Any


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
