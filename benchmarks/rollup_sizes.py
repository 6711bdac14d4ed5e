"""Rollups against raw events on a simulated population: bytes on disk, build time, and whether
scoring from rollup features flags the same accounts as scoring from raw features.

    .venv/bin/python benchmarks/rollup_sizes.py --scale 0.05

Rings are not compared: ring linking (``detection.find_rings``) still reads raw events.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import polars as pl

from distillguard.config import Settings
from distillguard.detection import policy_for, score_features
from distillguard.features import account_features
from distillguard.features.rollups import ROLLUPS_DIR, Rollups, features_from_rollups, hourly_rollup, read_rollups, write_rollups
from distillguard.lake import Lake, LakeWriter
from distillguard.simulator.population import SimulationConfig, simulate


def folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*.parquet") if not f.name.startswith("_"))


def flagged(features: pl.DataFrame, settings: Settings) -> set[str]:
    scored = score_features(features, settings)
    bar = policy_for(settings).population_bar(scored["score"])
    return set(scored.filter(pl.col("score") >= bar)["account_id"].to_list())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    traffic = simulate(SimulationConfig(seed=args.seed, scale=args.scale))
    events = traffic.events.filter(pl.col("event_id").is_first_distinct())
    with tempfile.TemporaryDirectory() as tmp:
        lake = Lake(str(Path(tmp) / "dg.lake"))
        LakeWriter(lake).append(events, source="bench")
        t = time.perf_counter()
        rollups = hourly_rollup(events)
        build_s = time.perf_counter() - t
        write_rollups(lake, rollups)
        raw_bytes = folder_bytes(Path(lake.root) / "events")
        sizes = {table: folder_bytes(Path(lake.root) / ROLLUPS_DIR / table) for table in Rollups.tables()}
        t = time.perf_counter()
        stored = read_rollups(lake)
        from_rollups = features_from_rollups(stored, traffic.accounts)
        read_s = time.perf_counter() - t
    t = time.perf_counter()
    raw = account_features(events, traffic.accounts)
    raw_s = time.perf_counter() - t
    settings = Settings()
    a, b = flagged(raw, settings), flagged(from_rollups, settings)
    jaccard = len(a & b) / max(1, len(a | b))
    print(f"events {events.height:,}  accounts {raw.height}  account-hours {rollups.hours.height:,}")
    print(f"raw events on disk        {raw_bytes / 1e6:8.2f} MB  ({raw_bytes / events.height:.0f} B/event)")
    for table, size in sizes.items():
        print(f"rollups.{table:<17} {size / 1e6:8.2f} MB  ({size / events.height:.1f} B/event, {getattr(rollups, table).height:,} rows)")
    total = sum(sizes.values())
    print(f"rollups total             {total / 1e6:8.2f} MB  ({total / raw_bytes:.1%} of raw)")
    print(f"build {build_s:.2f} s; read+features from rollups {read_s:.2f} s; features from raw {raw_s:.2f} s")
    print(f"flagged by score: raw {len(a)}, rollups {len(b)}, Jaccard {jaccard:.3f}; only raw {sorted(a - b)}, only rollups {sorted(b - a)}")


if __name__ == "__main__":
    main()
