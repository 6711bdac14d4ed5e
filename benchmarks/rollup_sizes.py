"""Rollups against raw events on a simulated population: bytes on disk, build time, and whether
detection from rollups (:class:`distillguard.rollup_window.RollupWindow`) flags the same accounts
and finds the same rings as detection from the raw events (``detection.LoadedWindow``).

    .venv/bin/python benchmarks/rollup_sizes.py --scale 0.05 [--record [README]]
    .venv/bin/python benchmarks/rollup_sizes.py --events 1000000     # sized as batch_throughput.py sizes it
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import add_record_option, record_latest  # noqa: E402

from distillguard.config import Settings  # noqa: E402
from distillguard.detection import LoadedWindow, policy_for  # noqa: E402
from distillguard.features.rollups import ROLLUPS_DIR, Rollups, hourly_rollup, read_rollups, write_rollups  # noqa: E402
from distillguard.lake import Lake, LakeWriter  # noqa: E402
from distillguard.rollup_window import RollupWindow  # noqa: E402
from distillguard.simulator.population import SimulationConfig, simulate  # noqa: E402


def folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*.parquet") if not f.name.startswith("_"))


def detect(window, accounts: pl.DataFrame, settings: Settings) -> tuple[set[str], set[str]]:
    """Flagged accounts (score over the population bar, or ring member) and ring ids."""
    scored = window.score(accounts, settings)
    rings, members = window.find_rings(scored, accounts, settings)
    flagged = set(scored.filter(pl.col("score") >= policy_for(settings).population_bar(scored["score"]))["account_id"].to_list())
    return flagged | set(members["account_id"].to_list()), {r["ring_id"] for r in rings}


def jaccard(a: set, b: set) -> float:
    return len(a & b) / max(1, len(a | b))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=0.05)
    parser.add_argument("--events", type=int, default=0, help="size the population to about this many events (overrides --scale)")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--mix", default="default")
    add_record_option(parser)
    args = parser.parse_args()
    if args.events:
        factor = args.events / max(1, simulate(SimulationConfig(seed=args.seed, scale=1.0, mix=args.mix)).events.height)
        config = SimulationConfig(seed=args.seed, mix=args.mix, scale=max(1.0, factor ** 0.5), volume=max(0.2, factor ** 0.5))
    else:
        config = SimulationConfig(seed=args.seed, mix=args.mix, scale=args.scale)
    traffic = simulate(config)
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
        read_s = time.perf_counter() - t
    settings = Settings()
    t = time.perf_counter()
    flagged_raw, rings_raw = detect(LoadedWindow(events), traffic.accounts, settings)
    raw_s = time.perf_counter() - t
    t = time.perf_counter()
    flagged_rollups, rings_rollups = detect(RollupWindow(stored), traffic.accounts, settings)
    rollup_s = time.perf_counter() - t
    n_accounts = stored.hours["account_id"].n_unique()
    print(f"events {events.height:,}  accounts {n_accounts}  account-hours {rollups.hours.height:,}")
    print(f"raw events on disk        {raw_bytes / 1e6:8.2f} MB  ({raw_bytes / events.height:.0f} B/event)")
    for table, size in sizes.items():
        print(f"rollups.{table:<17} {size / 1e6:8.2f} MB  ({size / events.height:.1f} B/event, {getattr(rollups, table).height:,} rows)")
    total = sum(sizes.values())
    print(f"rollups total             {total / 1e6:8.2f} MB  ({total / raw_bytes:.1%} of raw)")
    print(f"build {build_s:.2f} s; read {read_s:.2f} s; detection from raw events {raw_s:.2f} s, from rollups {rollup_s:.2f} s")
    print(f"flagged: raw {len(flagged_raw)}, rollups {len(flagged_rollups)}, Jaccard {jaccard(flagged_raw, flagged_rollups):.3f}; "
          f"rings: raw {len(rings_raw)}, rollups {len(rings_rollups)}, Jaccard {jaccard(rings_raw, rings_rollups):.3f}")
    if args.record:
        row: dict[str, object] = {"events": events.height, "accounts": n_accounts, "account-hours": rollups.hours.height,
                                  "raw events on disk, MB": raw_bytes / 1e6}
        row.update({f"rollups.{table}, MB": size / 1e6 for table, size in sizes.items()})
        row.update({"rollups / raw": total / raw_bytes, "build, s": build_s, "read, s": read_s,
                    "detection raw, s": raw_s, "detection rollups, s": rollup_s,
                    "flagged raw / rollups": f"{len(flagged_raw)} / {len(flagged_rollups)}",
                    "flagged Jaccard": jaccard(flagged_raw, flagged_rollups),
                    "rings raw / rollups": f"{len(rings_raw)} / {len(rings_rollups)}",
                    "rings Jaccard": jaccard(rings_raw, rings_rollups)})
        record_latest(__file__, [row], args.record)


if __name__ == "__main__":
    main()
