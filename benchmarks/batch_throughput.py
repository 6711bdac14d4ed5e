"""End-to-end `distillguard batch` throughput and peak RSS on simulated events (default ~1M).

    python benchmarks/batch_throughput.py [--events 1000000]

Simulates a population sized to about --events, writes it as JSONL.gz, then times the whole
batch pipeline (read, validate, store, features, models, rings, results) in this process.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import peak_rss_mb, stage  # noqa: E402

from distillguard.pipeline import run_batch  # noqa: E402
from distillguard.simulator import SimulationConfig, simulate, write_traffic  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="dg-batch-bench-"))
    probe = simulate(SimulationConfig(seed=args.seed, scale=1.0))
    factor = args.events / max(1, probe.events.height)
    with stage("simulate") as fig:
        traffic = simulate(SimulationConfig(seed=args.seed, scale=max(1.0, factor ** 0.5), volume=max(0.2, factor ** 0.5)))
        fig["events"] = traffic.events.height
    paths = write_traffic(traffic, work / "traffic", fmt="jsonl.gz")
    del probe
    start = time.perf_counter()
    result = run_batch([work / "traffic"], work / "bench.duckdb", accounts=paths["accounts"], show_progress=False)
    seconds = time.perf_counter() - start
    print(result.summary())
    print(f"batch end to end: {result.load.records:,} events in {seconds:.1f} s = {result.load.records / seconds:,.0f} events/s; "
          f"peak RSS {peak_rss_mb():,.0f} MiB")


if __name__ == "__main__":
    main()
