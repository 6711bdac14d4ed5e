"""Write simulated traffic as a gateway would: daily JSONL(.gz)/Parquet files in arrival order,
late and duplicated deliveries, malformed lines of every kind, plus accounts and truth files.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from distillguard.simulator.population import SimulatedTraffic


#: Malformed line makers: kind -> function(rng, i) -> bytes.
def _good(i: int) -> dict:
    return {"event_id": f"garbage-{i}", "ts": "2026-11-02T12:00:00Z", "account_id": "acct-garbage", "api_key_id": "k",
            "client_ip": "192.0.2.1", "endpoint": "/v1/chat/completions", "model": "m", "status": 200,
            "prompt_tokens": 1, "completion_tokens": 1}


def _with(i: int, **changes) -> bytes:
    record = _good(i)
    for key, value in changes.items():
        if value is _DROP:
            record.pop(key)
        else:
            record[key] = value
    return json.dumps(record).encode()


_DROP = object()
CORRUPTIONS = {
    "not_json": lambda i: b"GET /v1/chat/completions HTTP/1.1 200 -",
    "truncated_json": lambda i: _with(i)[:-17],
    "not_object": lambda i: b"[1, 2, 3]" if i % 2 else b"42",
    "missing_field": lambda i: _with(i, account_id=_DROP),
    "wrong_type": lambda i: [_with(i, status="200"), _with(i, prompt_tokens=1.5), _with(i, logprobs="yes")][i % 3],
    "bad_timestamp": lambda i: _with(i, ts=["2026-13-45T99:00:00Z", "yesterday", "1700000000"][i % 3]),
    "non_utf8": lambda i: _with(i).replace(b'"acct-garbage"', b'"acct-\xff\xfe"'),
    "oversized_field": lambda i: _with(i, event_id="x" * 200) if i % 2 else _with(i, user_agent="A" * 2000),
    "negative_tokens": lambda i: _with(i, prompt_tokens=-5),
    "bad_country": lambda i: _with(i, country="usa"),
}


def _arrival_order(events: pl.DataFrame, late_rate: float, seed: int) -> pl.DataFrame:
    """Order events by when the gateway shipped them: mostly on time, a few seconds' jitter, some hours late."""
    rng = np.random.default_rng(seed + 101)
    n = events.height
    delay = rng.exponential(2.0, n)
    late = rng.random(n) < late_rate
    delay[late] += rng.uniform(600, 4 * 3600, late.sum())
    return events.with_columns(pl.Series("_delay_s", delay)).with_columns(
        (pl.col("ts") + pl.duration(milliseconds=(pl.col("_delay_s") * 1000).cast(pl.Int64))).alias("_arrival")
    ).sort("_arrival")


def _jsonl_bytes(frame: pl.DataFrame) -> list[bytes]:
    out = frame.with_columns(pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ"))
    return out.write_ndjson().encode().splitlines()


def write_traffic(traffic: SimulatedTraffic, out_dir: Path, *, fmt: str = "jsonl.gz", garbage_rate: float = 0.0,
                  seed: int = 0, late_rate: float = 0.01) -> dict:
    """Write events per UTC day plus ``accounts.csv``, ``truth.csv`` and ``corruption.json``; returns the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed + 7)
    ordered = _arrival_order(traffic.events, late_rate, seed)
    paths: dict = {"events": []}
    manifest: dict[str, Any] = {"good_lines": 0, "duplicates": traffic.events.height - traffic.events["event_id"].n_unique(), "garbage": {}}
    for (day,), part in ordered.group_by(pl.col("_arrival").dt.date(), maintain_order=True):
        part = part.drop("_delay_s", "_arrival")
        name = f"events-{day.isoformat()}"
        if fmt == "parquet":
            path = out_dir / f"{name}.parquet"
            part.write_parquet(path)
            manifest["good_lines"] += part.height
        else:
            lines = _jsonl_bytes(part)
            manifest["good_lines"] += len(lines)
            n_bad = int(round(len(lines) * garbage_rate))
            kinds = list(CORRUPTIONS)
            for j in range(n_bad):
                kind = kinds[j % len(kinds)]
                pos = int(rng.integers(0, len(lines) + 1))
                lines.insert(pos, CORRUPTIONS[kind](j + len(paths["events"]) * 1_000_000))
                manifest["garbage"][kind] = manifest["garbage"].get(kind, 0) + 1
            data = b"\n".join(lines) + b"\n"
            if fmt == "jsonl.gz":
                path = out_dir / f"{name}.jsonl.gz"
                with gzip.open(path, "wb", compresslevel=3) as handle:
                    handle.write(data)
            else:
                path = out_dir / f"{name}.jsonl"
                path.write_bytes(data)
        paths["events"].append(path)
    accounts_path = out_dir / "accounts.csv"
    traffic.accounts.with_columns(pl.col("created_at").dt.strftime("%Y-%m-%dT%H:%M:%SZ")).write_csv(accounts_path)
    truth_path = out_dir / "truth.csv"
    traffic.truth.write_csv(truth_path)
    manifest_path = out_dir / "corruption.json"
    manifest_path.write_text(json.dumps(manifest, indent=2))
    paths.update(accounts=accounts_path, truth=truth_path, corruption=manifest_path)
    return paths
