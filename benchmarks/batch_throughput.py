"""End-to-end `distillguard batch` throughput and peak RSS on simulated events (default ~1M).

    python benchmarks/batch_throughput.py [--events 1000000] [--record [README]]

Simulates a population sized to about --events, writes it as JSONL.gz, then times the whole
batch pipeline (read, validate, store, features, models, rings, results) in this process.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import add_record_option, record_latest, stage  # noqa: E402

from distillguard.simulator import SimulationConfig, simulate, write_traffic  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=3)
    add_record_option(parser)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="dg-batch-bench-"))
    probe = simulate(SimulationConfig(seed=args.seed, scale=1.0))
    factor = args.events / max(1, probe.events.height)
    with stage("simulate") as fig:
        traffic = simulate(SimulationConfig(seed=args.seed, scale=max(1.0, factor ** 0.5), volume=max(0.2, factor ** 0.5)))
        fig["events"] = traffic.events.height
    paths = write_traffic(traffic, work / "traffic", fmt="jsonl.gz")
    del probe
    n_records = traffic.events.height
    del traffic
    # The batch runs as its own process (as `distillguard batch` does in production) and reports its
    # own peak RSS (VmHWM) as it exits: ru_maxrss of a child would carry over this process's peak.
    report_peak = ("import atexit, runpy, sys\n"
                   f"sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})\n"
                   "from _measure import peak_rss_mb\n"
                   "atexit.register(lambda: print('PEAK_RSS_MIB', peak_rss_mb(), file=sys.stderr))\n"
                   "sys.argv = ['distillguard'] + sys.argv[1:]\n"
                   "runpy.run_module('distillguard.cli', run_name='__main__')\n")
    cmd = [sys.executable, "-c", report_peak, "batch", "--logs", str(work / "traffic"), "--accounts", str(paths["accounts"]),
           "--db", str(work / "bench.duckdb"), "--quiet"]
    start = time.perf_counter()
    done = subprocess.run(cmd, check=True, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - start
    child_rss = float(done.stderr.split("PEAK_RSS_MIB")[1].split()[0])
    print(f"batch end to end: {n_records:,} events in {seconds:.1f} s = {n_records / seconds:,.0f} events/s; "
          f"peak RSS of the batch process {child_rss:,.0f} MiB")
    if args.record:
        record_latest(__file__, [{"events": n_records, "seconds": seconds, "events/s": n_records / seconds,
                                  "peak RSS of the batch process, MiB": child_rss}], args.record)


if __name__ == "__main__":
    main()
