"""Records the stream sets aside: rows for ``rejected_events`` and messages for the dead-letter topic.

A dead-letter message carries the original bytes as its value (so it can be repaired and
replayed as it was) and the why in its headers: ``reason_code``, ``reason``, ``source``
(``kafka:<topic>/<partition>``) and ``offset``.
"""

from __future__ import annotations

import polars as pl

from distillguard.events import REJECTED_SCHEMA


def empty_value_rejects(values: list[bytes | None], offsets: list[int], source: str) -> pl.DataFrame:
    """Messages with no value (or only whitespace): :func:`parse_records` skips them, the stream rejects them."""
    empty = [o for v, o in zip(values, offsets) if v is None or not v.strip()]
    return pl.DataFrame({
        "source": [source] * len(empty), "position": empty, "raw": [""] * len(empty),
        "reason_code": ["empty_record"] * len(empty), "reason": ["Kafka message with an empty value"] * len(empty),
    }, schema=REJECTED_SCHEMA)


def dead_letter_messages(rejected: pl.DataFrame, original: dict[int, bytes | None]) -> list[tuple[bytes, list[tuple[str, bytes]]]]:
    """``(value, headers)`` per rejected record; ``original`` maps offset -> the message's bytes."""
    out = []
    for source, offset, code, reason in rejected.select("source", "position", "reason_code", "reason").iter_rows():
        headers = [("reason_code", code.encode()), ("reason", reason.encode()[:1000]), ("source", source.encode()),
                   ("offset", str(offset).encode())]
        out.append((original.get(offset) or b"", headers))
    return out
