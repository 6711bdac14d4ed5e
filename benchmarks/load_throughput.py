"""Reading + validating, and loading into DuckDB, of simulated events (default 1M).

    python benchmarks/load_throughput.py [--events 1000000] [--garbage-rate 0.0005] [--repeat 1] [--record [README]]

Prints events/s for each stage and peak RSS (reading and loading each in a process of its own),
for the clean files and for the same files with ``--garbage-rate`` malformed lines of every kind
mixed in (0 skips that), run alternately ``--repeat`` times; then each stage's best time on the
clean and the garbage files and how much slower the garbage ones were (issue 15: a bad line must
cost about what a good one does, within 10%).
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import add_record_option, peak_rss_mb, record_latest, stage  # noqa: E402

import distillguard.config  # noqa: E402,F401 - start-up, as the CLI's: not in the stages timed
from distillguard.load import load_logs  # noqa: E402
from distillguard.logfiles import read_logs  # noqa: E402
from distillguard.simulator import SimulationConfig, simulate, write_traffic  # noqa: E402
from distillguard.store import Store  # noqa: E402


def read_stage(traffic_dir: Path, label: str, out) -> None:
    n = 0
    with stage(f"read + validate JSONL.gz{label}") as fig:
        for batch in read_logs([traffic_dir]):
            n += batch.total
        fig["events"] = n
    out.put(("read", label, fig["seconds"], peak_rss_mb()))


def load_stage(traffic_dir: Path, label: str, out) -> None:
    db = traffic_dir.parent / f"bench-{traffic_dir.name}.duckdb"
    db.unlink(missing_ok=True)
    with stage(f"load into DuckDB{label}") as fig:
        with Store.open(db) as store:
            report = load_logs([traffic_dir], store, show_progress=False)
        fig["events"] = report.records
    db.unlink(missing_ok=True)
    out.put(("load", label, fig["seconds"], peak_rss_mb()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--garbage-rate", type=float, default=0.0005,
                        help="share of malformed lines in the second copy of the files (0: clean files only)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each stage on each copy, alternating")
    add_record_option(parser)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="dg-bench-"))
    volume = 1.0
    with stage("simulate (calibration run)"):
        probe = simulate(SimulationConfig(seed=1, scale=0.5))
    volume = max(0.1, args.events / max(1, probe.events.height) * 0.5)
    with stage("simulate") as fig:
        traffic = simulate(SimulationConfig(seed=1, scale=1.0, volume=volume))
        fig["events"] = traffic.events.height
    copies = {"": work / "traffic"}
    with stage("write JSONL.gz", traffic.events.height):
        write_traffic(traffic, copies[""], fmt="jsonl.gz")
    if args.garbage_rate > 0:
        copies[f" ({args.garbage_rate:.2%} garbage)"] = work / "traffic-garbage"
        write_traffic(traffic, work / "traffic-garbage", fmt="jsonl.gz", garbage_rate=args.garbage_rate)
    # Reading and loading each run in a fresh process, so the peak RSS printed is theirs, not the simulator's.
    spawn = multiprocessing.get_context("spawn")
    results = spawn.Queue()
    best: dict[tuple[str, str], float] = {}
    peak_mib: dict[str, float] = {}
    for _ in range(args.repeat):
        for target in (read_stage, load_stage):
            for label, traffic_dir in copies.items():
                child = spawn.Process(target=target, args=(traffic_dir, label, results))
                child.start()
                child.join()
                kind, got_label, seconds, rss = results.get()
                best[kind, got_label] = min(seconds, best.get((kind, got_label), float("inf")))
                peak_mib[kind] = max(rss, peak_mib.get(kind, 0.0))
    n = traffic.events.height
    print(f"events: {n:,}; work dir {work}")
    if len(copies) > 1:
        garbage = list(copies)[1]
        for kind in ("read", "load"):
            clean_s, dirty_s = best[kind, ""], best[kind, garbage]
            print(f"best {kind}: clean {clean_s:.2f} s, garbage {dirty_s:.2f} s ({dirty_s / clean_s - 1:+.1%})")
    if args.record:
        record_latest(__file__, stage_figures(n, best, peak_mib, args.repeat, list(copies)), args.record)


def stage_figures(n_events: int, best: dict[tuple[str, str], float], peak_mib: dict[str, float], repeat: int,
                  labels: list[str]) -> list[dict[str, object]]:
    """One row per stage: its best time and events/s on the clean files, and on the garbage ones if any."""
    names = {"read": "read + validate JSONL.gz", "load": "load into DuckDB"}
    rows: list[dict[str, object]] = []
    for kind in ("read", "load"):
        clean_s = best[kind, ""]
        row: dict[str, object] = {"stage": names[kind], "events": n_events, f"clean, best of {repeat}, s": clean_s,
                                  "clean, events/s": n_events / clean_s}
        if len(labels) > 1:
            dirty_s = best[kind, labels[1]]
            row[f"garbage{labels[1].replace(' garbage', '')}, best of {repeat}, s"] = dirty_s
            row["garbage vs clean"] = f"{dirty_s / clean_s - 1:+.1%}"
        row["peak RSS MiB"] = peak_mib[kind]
        rows.append(row)
    return rows


if __name__ == "__main__":
    main()
