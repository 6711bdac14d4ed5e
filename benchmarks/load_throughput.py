"""Reading + validating, and loading into DuckDB, of simulated events (default 1M).

    python benchmarks/load_throughput.py [--events 1000000]

Prints events/s for each stage and peak RSS (reading and loading each in a process of its own).
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import stage  # noqa: E402

from distillguard.load import load_logs  # noqa: E402
from distillguard.logfiles import read_logs  # noqa: E402
from distillguard.simulator import SimulationConfig, simulate, write_traffic  # noqa: E402
from distillguard.store import Store  # noqa: E402


def read_stage(work: Path) -> None:
    n = 0
    with stage("read + validate JSONL.gz") as fig:
        for batch in read_logs([work / "traffic"]):
            n += batch.total
        fig["events"] = n


def load_stage(work: Path) -> None:
    with stage("load into DuckDB (read+validate+insert)") as fig:
        with Store.open(work / "bench.duckdb") as store:
            report = load_logs([work / "traffic"], store, show_progress=False)
        fig["events"] = report.records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="dg-bench-"))
    volume = 1.0
    with stage("simulate (calibration run)"):
        probe = simulate(SimulationConfig(seed=1, scale=0.5))
    volume = max(0.1, args.events / max(1, probe.events.height) * 0.5)
    with stage("simulate") as fig:
        traffic = simulate(SimulationConfig(seed=1, scale=1.0, volume=volume))
        fig["events"] = traffic.events.height
    with stage("write JSONL.gz", traffic.events.height):
        write_traffic(traffic, work / "traffic", fmt="jsonl.gz")
    # Reading and loading each run in a fresh process, so the peak RSS printed is theirs, not the simulator's.
    spawn = multiprocessing.get_context("spawn")
    for target in (read_stage, load_stage):
        child = spawn.Process(target=target, args=(work,))
        child.start()
        child.join()
    n = traffic.events.height
    print(f"events: {n:,}; work dir {work}")


if __name__ == "__main__":
    main()
