"""Detection quality and robustness over a matrix of seeds and population mixes.

    python benchmarks/detection_quality.py [--seeds 11 12 13] [--mixes default ring_heavy hard_negative_heavy]
                                           [--vocabularies default [alt]] [--scale 0.5] [--no-accounts]
                                           [--quick] [--ablate] [--mutations reask:0.5 no-cot ...] [--json PATH]
                                           [--record [README]]

Each cell (seed x mix x vocabulary) simulates a fresh population (every attack account with its
own variation axes, benign kinds with their hard variants), runs the real batch pipeline into a
fresh DuckDB file and evaluates it against the simulator's truth. Reported:

* per cell: the headline metrics (recall, precision, FPRs, ring metrics);
* recall per attack kind x variation axis value (e.g. bulk_extractor x reask_rate=0.3-0.6), pooled
  over the cells and per cell, and the false-positive rate of every benign variant;
* ``--ablate``: leave-one-family-out rows: the batch again with one evidence family of
  ``distillguard.models.policy.FAMILIES`` neutralised (``Settings.detection.ablate_families``), one
  batch run per family and cell;
* ``--mutations``: each simulated population rewritten by ../shared/tools/mutate_attackers.py (one
  attacker habit dropped or changed; ``a+b`` applies two at once) and judged again;
* at the end the WORST cell of every metric: the worst cell is what matters, not the mean.

``--quick`` runs the first seed and the first mix only. ``--record`` writes the worst cells as the
script's latest section of benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import add_record_option, record_latest  # noqa: E402

from distillguard.config import DetectionSettings, Settings  # noqa: E402
from distillguard.evaluate import evaluate_store, read_truth  # noqa: E402
from distillguard.pipeline import run_batch  # noqa: E402
from distillguard.simulator import SimulationConfig, simulate, write_traffic  # noqa: E402
from distillguard.store import Store  # noqa: E402

COLUMNS = ["account_recall", "precision", "benign_fpr", "hard_negative_fpr", "ring_recall", "mean_best_jaccard",
           "ring_kind_accuracy", "spurious_rings", "benign_in_rings"]
WORST = {"account_recall": min, "precision": min, "benign_fpr": max, "hard_negative_fpr": max, "ring_recall": min,
         "mean_best_jaccard": min, "ring_kind_accuracy": min, "spurious_rings": max, "benign_in_rings": max}
#: Truth columns naming an attack account's variation axes (see distillguard.simulator.population).
AXES = ("reask_rate", "reask_style", "language", "reasoning", "age", "timing", "volume", "sampling", "system_prompt", "distill_share",
        "fake_end_users", "conversation_wrapping", "greedy", "tool_traces", "preamble", "target", "split_accounts", "split_shared",
        "linkage", "proxy_client", "proxy_accounts")
#: Truth columns naming a benign group variant's facets (enterprise teams, research labs, agencies, load tests).
FACETS = ("role", "group_size", "account_age")
SHORT_ROWS = ["account_recall", "precision", "benign_fpr", "hard_negative_fpr", "ring_recall"]
MUTATE_TOOL = Path(__file__).resolve().parents[2] / "shared" / "tools" / "mutate_attackers.py"


def families() -> tuple[str, ...]:
    """The evidence families detection can leave out (empty until the policy module exists)."""
    try:
        from distillguard.models.policy import FAMILIES
    except ImportError:
        return ()
    return tuple(FAMILIES)


def judge(logs: Path, db: Path, accounts: Path | None, truth: pl.DataFrame, settings: Settings | None = None) -> tuple[dict, set[str]]:
    """Run the batch pipeline on ``logs`` into ``db``; the metrics and the flagged account ids."""
    run_batch([logs], db, accounts=accounts, settings=settings, show_progress=False)
    with Store.open(db, read_only=True) as store:
        metrics = evaluate_store(store, truth)
        flagged = set(store.frame("SELECT account_id FROM flagged_accounts")["account_id"].to_list())
    return metrics, flagged


def _counts_by(frame: pl.DataFrame, group: str, columns: tuple[str, ...], label: str) -> list[dict]:
    """(``group``, column, value) -> accounts and how many were hit, for every column of ``frame``
    among ``columns`` (values null or "-" do not apply); ``label`` names the column in each row."""
    rows: list[dict] = []
    for column in columns:
        if column not in frame.columns:
            continue
        grouped = (frame.filter(pl.col(column).is_not_null() & (pl.col(column) != "-"))
                   .group_by(group, pl.col(column).alias("value")).agg(pl.len().alias("accounts"), pl.col("hit").sum().alias("flagged")))
        rows += [dict(r, **{label: column}) for r in grouped.to_dicts()]
    return rows


def axis_counts(truth: pl.DataFrame, flagged: set[str]) -> list[dict]:
    """(kind, axis, value) -> attack accounts and how many were flagged."""
    attack = truth.filter(pl.col("label") == "attack").with_columns(pl.col("account_id").is_in(list(flagged)).alias("hit"))
    return _counts_by(attack, "kind", AXES, "axis")


def variant_counts(truth: pl.DataFrame, flagged: set[str]) -> list[dict]:
    """Benign variant -> accounts and how many were flagged (false positives)."""
    benign = truth.filter(pl.col("label") != "attack")
    if "variant" not in benign.columns:
        benign = benign.with_columns(pl.col("kind").alias("variant"))
    grouped = (benign.with_columns(pl.col("account_id").is_in(list(flagged)).alias("hit"))
               .group_by("variant", "hard_negative").agg(pl.len().alias("accounts"), pl.col("hit").sum().alias("flagged")))
    return grouped.to_dicts()


def facet_counts(truth: pl.DataFrame, flagged: set[str]) -> list[dict]:
    """(benign variant, facet, value) -> accounts and how many were flagged."""
    benign = truth.filter(pl.col("label") != "attack").with_columns(pl.col("account_id").is_in(list(flagged)).alias("hit"))
    return _counts_by(benign, "variant", FACETS, "facet")


def kind_recall(truth: pl.DataFrame, flagged: set[str]) -> dict[str, float]:
    attack = truth.filter(pl.col("label") == "attack").with_columns(pl.col("account_id").is_in(list(flagged)).alias("hit"))
    return {k: round(r, 3) for k, r in attack.group_by("kind").agg(pl.col("hit").mean()).sort("kind").iter_rows()}


def mutate(traffic_dir: Path, spec: str, seed: int, out: Path) -> Path:
    """Rewrite a written population with ``mutate_attackers.py``; returns its output folder."""
    cmd = [sys.executable, str(MUTATE_TOOL), "--logs", str(traffic_dir), "--accounts", str(traffic_dir / "accounts.csv"),
           "--truth", str(traffic_dir / "truth.csv"), "--out", str(out), "--seed", str(seed)]
    for part in spec.split("+"):
        cmd += ["--mutate", part]
    # the tool walks a set of account ids while drawing from its seeded generator: one string hash seed makes
    # the walk, and so the mutated population, the same on every run (without it, rows move by an account or two)
    done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"})
    if done.returncode:
        raise RuntimeError(f"mutate_attackers.py {spec}: " + (done.stderr.strip().splitlines() or ["failed"])[-1])
    return out


def fmt(value) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def run_cell(seed: int, mix: str, vocabulary: str, scale: float, with_accounts: bool, work: Path,
             ablate: tuple[str, ...], mutations: list[str]) -> dict:
    name = f"{mix}-{vocabulary}-{seed}-{'acc' if with_accounts else 'noacc'}"
    cell_dir = work / name
    times: dict[str, float] = {}
    cpu = time.process_time()
    start = time.perf_counter()
    traffic = simulate(SimulationConfig(seed=seed, mix=mix, vocabulary=vocabulary, scale=scale))
    paths = write_traffic(traffic, cell_dir / "traffic", garbage_rate=0.001, seed=seed)
    times["simulate"] = time.perf_counter() - start
    truth = read_truth(paths["truth"])
    accounts = paths["accounts"] if with_accounts else None
    start = time.perf_counter()
    metrics, flagged = judge(cell_dir / "traffic", cell_dir / "dg.duckdb", accounts, truth)
    times["batch"] = time.perf_counter() - start
    times["cpu"] = time.process_time() - cpu           # all of this process's threads: steadier than wall time on a shared VM
    cell = {"mix": mix, "vocabulary": vocabulary, "seed": seed, "events": traffic.events.height, "accounts": traffic.truth.height,
            **{c: metrics[c] for c in COLUMNS}, "kind_recall": kind_recall(truth, flagged),
            "axes": axis_counts(truth, flagged), "variants": variant_counts(truth, flagged), "facets": facet_counts(truth, flagged),
            "ablation": {}, "mutations": {}}
    start = time.perf_counter()
    for family in ablate:
        m, f = judge(cell_dir / "traffic", cell_dir / f"ablate-{family}.duckdb", accounts, truth,
                     Settings(detection=DetectionSettings(ablate_families=[family])))
        cell["ablation"][family] = {**{c: m[c] for c in SHORT_ROWS}, "kind_recall": kind_recall(truth, f)}
    times["ablation"] = time.perf_counter() - start
    start = time.perf_counter()
    if mutations:       # the tool cannot write back the undecodable lines of the corrupted copy: mutate a clean one
        write_traffic(traffic, cell_dir / "clean", garbage_rate=0.0, seed=seed)
    for spec in mutations:
        try:
            out = mutate(cell_dir / "clean", spec, seed, cell_dir / f"mut-{spec.replace(':', '_').replace('+', '_')}")
        except RuntimeError as exc:
            print(f"  skipped: {exc}", flush=True)
            continue
        mtruth = read_truth(out / "truth.csv")
        m, f = judge(out / "logs", out / "dg.duckdb", out / "accounts.csv" if with_accounts else None, mtruth)
        cell["mutations"][spec] = {**{c: m[c] for c in SHORT_ROWS}, "kind_recall": kind_recall(mtruth, f)}
    times["mutations"] = time.perf_counter() - start
    cell["seconds"] = {k: round(v, 1) for k, v in times.items()}
    return cell


def pooled(cells: list[dict], key: str, group: tuple[str, ...]) -> list[dict]:
    """Sum accounts and flagged over cells per group; with the worst single cell's rate."""
    sums: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    per_cell: dict[tuple, list[float]] = defaultdict(list)
    for cell in cells:
        for row in cell[key]:
            g = tuple(row[c] for c in group)
            sums[g][0] += row["accounts"]
            sums[g][1] += row["flagged"]
            per_cell[g].append(row["flagged"] / row["accounts"])
    return [{**dict(zip(group, g)), "accounts": a, "flagged": f, "rate": f / a, "worst_cell_min": min(per_cell[g]),
             "worst_cell_max": max(per_cell[g])} for g, (a, f) in sorted(sums.items(), key=lambda kv: tuple(map(str, kv[0])))]


def print_axes(rows: list[dict]) -> None:
    print("\nRecall per attack kind x variation axis (pooled over cells: recall (flagged/accounts)):")
    by_kind: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        mark = "" if r["rate"] >= 0.9 else " <"
        by_kind[r["kind"]][r["axis"]].append(f"{r['value']}={r['rate']:.2f}({r['flagged']}/{r['accounts']}){mark}")
    for kind, axes in sorted(by_kind.items()):
        print(f"  {kind}")
        for axis in AXES:
            if axis in axes:
                print(f"    {axis:<14} " + "  ".join(axes[axis]))


def print_variants(rows: list[dict]) -> None:
    print("\nFalse-positive rate per benign variant (pooled; worst single cell):")
    for r in sorted(rows, key=lambda r: (not r["hard_negative"], r["variant"])):
        tag = "hard" if r["hard_negative"] else "    "
        print(f"  {tag} {r['variant']:<24} {r['rate']:.3f} ({r['flagged']}/{r['accounts']})  worst cell {r['worst_cell_max']:.3f}")


def print_facets(rows: list[dict]) -> None:
    if not rows:
        return
    print("\nFalse-positive rate per benign group variant x facet (pooled):")
    by_variant: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        by_variant[r["variant"]][r["facet"]].append(f"{r['value']}={r['rate']:.2f}({r['flagged']}/{r['accounts']})")
    for variant, facets in sorted(by_variant.items()):
        print(f"  {variant}")
        for facet in FACETS:
            if facet in facets:
                print(f"    {facet:<14} " + "  ".join(facets[facet]))


def print_rows(title: str, cells: list[dict], key: str) -> dict[str, dict]:
    """Leave-one-family-out or mutation rows: worst over cells of each metric."""
    names = list(dict.fromkeys(n for c in cells for n in c[key]))
    if not names:
        return {}
    print(f"\n{title} (worst over {len(cells)} cell(s)):")
    print(f"  {'':<22}" + "".join(f"{c[:12]:>13}" for c in SHORT_ROWS) + "   lowest kind recall")
    out = {}
    for name in names:
        rows = [(c, c[key][name]) for c in cells if name in c[key]]
        worst = {m: WORST[m](r[m] for _, r in rows) for m in SHORT_ROWS}
        kinds: dict[str, float] = {}
        for _, r in rows:
            for kind, rec in r["kind_recall"].items():
                kinds[kind] = min(kinds.get(kind, 1.0), rec)
        low = min(kinds.items(), key=lambda kv: kv[1]) if kinds else ("-", 1.0)
        out[name] = {**worst, "lowest_kind": low[0], "lowest_kind_recall": low[1]}
        print(f"  {name:<22}" + "".join(f"{fmt(worst[m]):>13}" for m in SHORT_ROWS) + f"   {low[0]} {low[1]:.2f}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[11, 12, 13])
    parser.add_argument("--mixes", nargs="+", default=["default", "ring_heavy", "hard_negative_heavy"])
    parser.add_argument("--vocabularies", nargs="+", default=["default"], help="default, alt or both")
    parser.add_argument("--scale", type=float, default=0.5)
    parser.add_argument("--no-accounts", action="store_true", help="Run without the accounts file.")
    parser.add_argument("--quick", action="store_true", help="One seed x one mix (the first of each).")
    parser.add_argument("--ablate", action="store_true", help="Leave-one-family-out rows (one batch run per family and cell).")
    parser.add_argument("--mutations", nargs="*", default=[], metavar="SPEC",
                        help="mutate_attackers.py mutations, one run each (e.g. reask:0.5 no-cot no-sampling aged diurnal quiet:0.3 split:4; a+b combines)")
    parser.add_argument("--json", type=Path, help="Write every cell's figures and the worst cells here.")
    add_record_option(parser)
    args = parser.parse_args(argv)
    seeds, mixes = (args.seeds[:1], args.mixes[:1]) if args.quick else (args.seeds, args.mixes)
    ablate = families() if args.ablate else ()
    if args.ablate and not ablate:
        print("--ablate: distillguard.models.policy.FAMILIES is not there yet; no leave-one-family-out rows")
    mutations = list(args.mutations)
    if mutations and not MUTATE_TOOL.exists():
        print(f"--mutations: {MUTATE_TOOL} not found; skipping the mutation sweep")
        mutations = []
    work = Path(tempfile.mkdtemp(prefix="dg-quality-"))
    cells = []
    print("mix                  vocab   seed  " + " ".join(f"{c[:12]:>12}" for c in COLUMNS) + "   secs (simulate+write / batch)")
    for mix in mixes:
        for vocabulary in args.vocabularies:
            for seed in seeds:
                cell = run_cell(seed, mix, vocabulary, args.scale, not args.no_accounts, work, ablate, mutations)
                cells.append(cell)
                s = cell["seconds"]
                print(f"{mix:<20} {vocabulary:<7} {seed:>4}  " + " ".join(f"{fmt(cell[c]):>12}" for c in COLUMNS)
                      + f"  {s['simulate']:5.1f} / {s['batch']:5.1f} ({s['cpu']:.0f} s CPU)"
                      + (f"  (+{s['ablation']:.0f} s ablation)" if ablate else "") + (f"  (+{s['mutations']:.0f} s mutations)" if mutations else ""),
                      flush=True)
    axes = pooled(cells, "axes", ("kind", "axis", "value"))
    variants = pooled(cells, "variants", ("variant", "hard_negative"))
    print_axes(axes)
    print_variants(variants)
    facets = pooled([dict(c, facets=c.get("facets", [])) for c in cells], "facets", ("variant", "facet", "value"))
    print_facets(facets)
    ablation = print_rows("Leave-one-family-out", cells, "ablation")
    mutation_rows = print_rows("Mutation sweep (mutate_attackers.py)", cells, "mutations")

    where = lambda c: f"{c['mix']}/{c['vocabulary']}/seed {c['seed']}"  # noqa: E731
    worst: dict[str, dict] = {}
    for c in COLUMNS:
        cell = (min if WORST[c] is min else max)(cells, key=lambda x: x[c])
        worst[c] = {"value": cell[c], "cell": where(cell)}
    if axes:
        low = min(axes, key=lambda r: (r["rate"], -r["accounts"]))
        worst["axis_recall"] = {"value": low["rate"], "cell": f"{low['kind']} x {low['axis']}={low['value']}",
                                "flagged": low["flagged"], "accounts": low["accounts"]}
        low_cell = min(axes, key=lambda r: r["worst_cell_min"])
        worst["axis_recall_single_cell"] = {"value": low_cell["worst_cell_min"], "cell": f"{low_cell['kind']} x {low_cell['axis']}={low_cell['value']}"}
    hard = [v for v in variants if v["hard_negative"]]
    if hard:
        high = max(hard, key=lambda r: r["rate"])
        worst["hard_variant_fpr"] = {"value": high["rate"], "cell": high["variant"], "flagged": high["flagged"], "accounts": high["accounts"]}
        high_cell = max(hard, key=lambda r: r["worst_cell_max"])
        worst["hard_variant_fpr_single_cell"] = {"value": high_cell["worst_cell_max"], "cell": high_cell["variant"]}
    for label, rows in (("ablation", ablation), ("mutation", mutation_rows)):
        if rows:
            for m in SHORT_ROWS:
                name = (min if WORST[m] is min else max)(rows, key=lambda n: rows[n][m])
                worst[f"{label}_{m}"] = {"value": rows[name][m], "cell": name}
    print("\nWORST cell of every metric (the worst cell is what matters):")
    for metric, w in worst.items():
        extra = f" ({w['flagged']}/{w['accounts']} pooled)" if "accounts" in w else ""
        print(f"  {metric:<32} {fmt(w['value']):>7}  {w['cell']}{extra}")
    per_cell = [c["seconds"]["simulate"] + c["seconds"]["batch"] for c in cells]
    cpu = [c["seconds"]["cpu"] for c in cells]
    print(f"\none cell (simulate + write + batch + evaluate): {sum(per_cell) / len(per_cell):.1f} s wall on average "
          f"({min(per_cell):.1f}-{max(per_cell):.1f} s), {sum(cpu) / len(cpu):.1f} s CPU; work files in {work}")
    if args.json:
        args.json.write_text(json.dumps({"cells": cells, "axis_recall": axes, "variant_fpr": variants, "facet_fpr": facets, "ablation": ablation,
                                         "mutations": mutation_rows, "worst": worst}, indent=2, default=str))
    if args.record:
        record_latest(__file__, worst_figures(worst, len(cells)), args.record)
    return 0


def worst_figures(worst: dict[str, dict], n_cells: int) -> list[dict[str, object]]:
    """The worst cell of every metric as rows of the recorded table (metric, worst value, where).

    >>> worst_figures({"precision": {"value": 0.97, "cell": "default/default/seed 11"}}, 1)
    [{'metric': 'precision', 'worst of 1 cell(s)': '0.970', 'where': 'default/default/seed 11'}]
    """
    return [{"metric": metric, f"worst of {n_cells} cell(s)": fmt(w["value"]),
             "where": w["cell"] + (f" ({w['flagged']}/{w['accounts']} pooled)" if "accounts" in w else "")}
            for metric, w in worst.items()]


if __name__ == "__main__":
    sys.exit(main())
