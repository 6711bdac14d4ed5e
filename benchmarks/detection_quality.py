"""Detection quality over a matrix of seeds, population mixes and vocabularies.

    python benchmarks/detection_quality.py [--seeds 11 12 13] [--mixes default ring_heavy hard_negative_heavy]
                                           [--vocabularies default alt] [--scale 0.5] [--no-accounts]

Each cell simulates a fresh population, runs the real batch pipeline into a fresh DuckDB file and
evaluates it against the simulator's truth. Prints one line per cell and the worst value of each
metric across cells.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from distillguard.evaluate import evaluate_store, read_truth
from distillguard.pipeline import run_batch
from distillguard.simulator import SimulationConfig, simulate, write_traffic
from distillguard.store import Store

COLUMNS = ["account_recall", "precision", "benign_fpr", "hard_negative_fpr", "ring_recall", "mean_best_jaccard",
           "ring_kind_accuracy", "spurious_rings", "benign_in_rings"]
WORST = {"account_recall": min, "precision": min, "benign_fpr": max, "hard_negative_fpr": max, "ring_recall": min,
         "mean_best_jaccard": min, "ring_kind_accuracy": min, "spurious_rings": max, "benign_in_rings": max}


def run_cell(seed: int, mix: str, vocabulary: str, scale: float, with_accounts: bool, work: Path) -> dict:
    cell = work / f"{mix}-{vocabulary}-{seed}-{'acc' if with_accounts else 'noacc'}"
    traffic = simulate(SimulationConfig(seed=seed, mix=mix, vocabulary=vocabulary, scale=scale))
    paths = write_traffic(traffic, cell / "traffic", garbage_rate=0.001, seed=seed)
    run_batch([cell / "traffic"], cell / "dg.duckdb", accounts=paths["accounts"] if with_accounts else None, show_progress=False)
    with Store.open(cell / "dg.duckdb", read_only=True) as store:
        return evaluate_store(store, read_truth(paths["truth"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[11, 12, 13])
    parser.add_argument("--mixes", nargs="+", default=["default", "ring_heavy", "hard_negative_heavy"])
    parser.add_argument("--vocabularies", nargs="+", default=["default", "alt"])
    parser.add_argument("--scale", type=float, default=0.5)
    parser.add_argument("--no-accounts", action="store_true", help="Run without the accounts file.")
    parser.add_argument("--json", type=Path, help="Write every cell's metrics here.")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="dg-quality-"))
    cells = []
    print("mix                  vocab   seed  " + " ".join(f"{c[:12]:>12}" for c in COLUMNS) + "   secs")
    for mix in args.mixes:
        for vocabulary in args.vocabularies:
            for seed in args.seeds:
                start = time.perf_counter()
                m = run_cell(seed, mix, vocabulary, args.scale, not args.no_accounts, work)
                cells.append({"mix": mix, "vocabulary": vocabulary, "seed": seed, **{c: m[c] for c in COLUMNS}})
                print(f"{mix:<20} {vocabulary:<7} {seed:>4}  " + " ".join(f"{m[c]:>12.3f}" if isinstance(m[c], float) else f"{m[c]:>12}" for c in COLUMNS)
                      + f"  {time.perf_counter() - start:5.1f}", flush=True)
    worst = {c: WORST[c](cell[c] for cell in cells) for c in COLUMNS}
    print("worst across cells:  " + ", ".join(f"{c}={v:.3f}" if isinstance(v, float) else f"{c}={v}" for c, v in worst.items()))
    if args.json:
        args.json.write_text(json.dumps({"cells": cells, "worst": worst}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
