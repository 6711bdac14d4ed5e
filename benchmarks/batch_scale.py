"""Batch detection at scale through the sharded path: events/s, peak RSS of the whole process tree, wall time.

    python benchmarks/batch_scale.py [--sizes 2.7M,20M] [--cache /var/tmp/distillguard-batch-scale] [--record [README]]

Traffic: simulated populations of three days (``distillguard simulate --seed 5 --days 3
--scale 3`` is the first, 2.68 M events); a larger size adds populations with the next seeds,
their account ids prefixed so they stay apart (``c1-acct-00001``...), until the size is reached.
Each population is generated once, in its own process, and cached under ``--cache``.

Each size runs the ``batch`` Prefect flow as ``distillguard serve`` runs it (in its own process,
against a Prefect server this script starts once, as a deployment has one), with the flow's
local Dask cluster of ``[execution] n_workers`` worker processes, on a fresh DuckDB file and
event lake, with ``[execution] in_process_below_events = 0`` so every size takes the sharded
path. A sampler sums the resident memory of the flow's process and all its descendants (the Dask
workers; DuckDB and the Polars work run inside them) every 0.2 s; the peak is printed with the
wall time and events/s of the whole run (load + detection).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import add_record_option, record_latest  # noqa: E402

#: Population of one chunk: the issue's 2.7 M-event population.
CHUNK_SEED, CHUNK_SCALE, CHUNK_DAYS = 5, 3.0, 3
#: Seconds between two samples of the process tree's memory.
SAMPLE_EVERY_S = 0.2


def parse_size(text: str) -> int:
    """``2.7M`` -> 2_700_000."""
    text = text.strip().upper()
    factor = {"K": 1_000, "M": 1_000_000}.get(text[-1], 1)
    return int(float(text.rstrip("KM")) * factor)


def chunk_dir(cache: Path, k: int) -> Path:
    return cache / f"chunk-{k}-seed{CHUNK_SEED + k}-scale{CHUNK_SCALE:g}-days{CHUNK_DAYS}"


def generate_chunk(cache: Path, k: int) -> None:
    """Simulate population ``k`` (seed 5 + k) and write it as JSONL.gz (account ids prefixed for k > 0)."""
    import polars as pl

    from distillguard.simulator import SimulationConfig, simulate, write_traffic

    traffic = simulate(SimulationConfig(seed=CHUNK_SEED + k, n_days=CHUNK_DAYS, scale=CHUNK_SCALE))
    if k:
        prefix = pl.lit(f"c{k}-")
        traffic.events = traffic.events.with_columns(pl.concat_str([prefix, pl.col("account_id")]).alias("account_id"))
        traffic.accounts = traffic.accounts.with_columns(pl.concat_str([prefix, pl.col("account_id")]).alias("account_id"))
        traffic.truth = traffic.truth.with_columns(pl.concat_str([prefix, pl.col("account_id")]).alias("account_id"))
    out = chunk_dir(cache, k)
    write_traffic(traffic, out / "logs", fmt="jsonl.gz", seed=CHUNK_SEED + k)
    (out / "events.count").write_text(str(traffic.events.height))


def ensure_chunks(cache: Path, n_events: int) -> list[Path]:
    """Enough cached populations for ``n_events`` (generated in child processes when missing)."""
    chunks, total, k = [], 0, 0
    while total < n_events * 0.97:                    # a size is reached within 3 %
        path = chunk_dir(cache, k)
        if not (path / "events.count").is_file():
            print(f"generating population {k} (seed {CHUNK_SEED + k}) into {path}", flush=True)
            subprocess.run([sys.executable, __file__, "--generate-chunk", str(k), "--cache", str(cache)], check=True)
        total += int((path / "events.count").read_text())
        chunks.append(path)
        k += 1
    return chunks


def merged_accounts(chunks: list[Path], into: Path) -> Path:
    """One accounts file for the chosen populations."""
    import polars as pl

    pl.concat([pl.read_csv(c / "logs" / "accounts.csv", infer_schema=False) for c in chunks]).write_csv(into)
    return into


def tree_rss_bytes(pid: int) -> int:
    """Resident memory of a process and all its descendants."""
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root] + root.children(recursive=True)
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for proc in procs:
        try:
            total += proc.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


RUN_FLOW = """
import json, sys, time
from distillguard.flows.batch import batch_flow
start = time.perf_counter()
result = batch_flow(logs=sys.argv[1].split(","), db=sys.argv[2], accounts=sys.argv[3], only_new=False)
result["flow_seconds"] = time.perf_counter() - start
print("RESULT " + json.dumps(result, default=str), flush=True)
"""


def start_prefect_server(home: Path) -> tuple[subprocess.Popen, str]:
    """A local Prefect server (its own ``PREFECT_HOME``) and its API URL, once it answers."""
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    log = open(home.parent / "prefect-server.log", "wb")
    server = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                              env=env, stdout=log, stderr=subprocess.STDOUT)
    api = f"http://127.0.0.1:{port}/api"
    deadline = time.monotonic() + 300
    while True:
        try:
            urllib.request.urlopen(f"{api}/health", timeout=5)
            return server, api
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the Prefect server did not start; see {home.parent / 'prefect-server.log'}") from None
            time.sleep(1)


def run_size(chunks: list[Path], work: Path, workers: int, api: str) -> dict:
    """The batch flow over ``chunks`` in its own process; wall time and the tree's peak RSS."""
    n_events = sum(int((c / "events.count").read_text()) for c in chunks)
    db = work / f"scale-{n_events}.duckdb"
    db.unlink(missing_ok=True)
    accounts = merged_accounts(chunks, work / f"accounts-{n_events}.csv")
    env = {**os.environ, "DISTILLGUARD_EXECUTION__IN_PROCESS_BELOW_EVENTS": "0",
           "DISTILLGUARD_EXECUTION__N_WORKERS": str(workers), "DISTILLGUARD_EXECUTION__SCRATCH_DIR": str(work),
           "PREFECT_API_URL": api}
    logs = ",".join(str(c / "logs") for c in chunks)
    peak, done = 0, threading.Event()
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", RUN_FLOW, logs, str(db), str(accounts)], env=env,
                            stdout=subprocess.PIPE, text=True)

    def sample() -> None:
        nonlocal peak
        last_report = time.perf_counter()
        while not done.is_set():
            peak = max(peak, tree_rss_bytes(proc.pid))
            if time.perf_counter() - last_report >= 30:
                last_report = time.perf_counter()
                print(f"  ... {last_report - start:6.0f} s, process tree now {tree_rss_bytes(proc.pid) / 2**30:.2f} GiB, "
                      f"peak {peak / 2**30:.2f} GiB, load average {os.getloadavg()[0]:.1f}", flush=True)
            time.sleep(SAMPLE_EVERY_S)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    if proc.returncode:
        raise SystemExit(f"batch flow failed with exit code {proc.returncode}")
    result = json.loads(out.split("RESULT ", 1)[1].splitlines()[0])
    return {"events": n_events, "seconds": seconds, "peak_rss_gib": peak / 2**30, **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="2.7M,20M", help="Comma-separated event counts (2.7M, 20M...).")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "distillguard-batch-scale",
                        help="Where the simulated populations are cached.")
    parser.add_argument("--workers", type=int, default=2, help="Local Dask worker processes ([execution] n_workers).")
    parser.add_argument("--generate-chunk", type=int, default=None, help=argparse.SUPPRESS)
    add_record_option(parser)
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    if args.generate_chunk is not None:
        generate_chunk(args.cache, args.generate_chunk)
        return
    rows = []
    sizes = args.sizes.split(",")
    chunk_sets = [ensure_chunks(args.cache, parse_size(size)) for size in sizes]
    (args.cache / "prefect-home").mkdir(exist_ok=True)
    server, api = start_prefect_server(args.cache / "prefect-home")
    try:
        for size, chunks in zip(sizes, chunk_sets):
            rows.append(measure(size, chunks, args, api))
    finally:
        server.terminate()
        server.wait(timeout=60)
    if len(rows) >= 2:
        rates = [r["events"] / r["seconds"] for r in rows]
        print(f"events/s spread: largest size's {rates[-1]:,.0f} vs smallest's {rates[0]:,.0f} "
              f"({100 * (rates[-1] / rates[0] - 1):+.0f}%)")
    if args.record:
        record_latest(__file__, [size_figures(size, row) for size, row in zip(sizes, rows)], args.record)


def size_figures(size: str, row: dict) -> dict[str, object]:
    """One size's row of the recorded table (what ``measure`` prints).

    >>> size_figures("2M", {"events": 2_000_000, "seconds": 1000.0, "peak_rss_gib": 2.4, "shards": 4, "flagged": 389, "rings": 7})
    {'size': '2M', 'events': 2000000, 'shards': 4, 'wall (load + detection), s': 1000.0, 'events/s': 2000.0, \
'peak RSS of the process tree, GiB': 2.4, 'flagged': 389, 'rings': 7}
    """
    return {"size": size, "events": row["events"], "shards": row.get("shards"), "wall (load + detection), s": row["seconds"],
            "events/s": row["events"] / row["seconds"], "peak RSS of the process tree, GiB": row["peak_rss_gib"],
            "flagged": row.get("flagged"), "rings": row.get("rings")}


def measure(size: str, chunks: list[Path], args: argparse.Namespace, api: str) -> dict:
    """One size's run, printed."""
    work = Path(tempfile.mkdtemp(prefix="dg-scale-", dir=args.cache))
    print(f"{size}: batch flow over {len(chunks)} population(s), {args.workers} Dask workers", flush=True)
    row = run_size(chunks, work, args.workers, api)
    print(f"{size}: {row['events']:,} events, load + detection {row['seconds']:.0f} s wall = "
          f"{row['events'] / row['seconds']:,.0f} events/s; peak RSS of the process tree {row['peak_rss_gib']:.2f} GiB; "
          f"{row.get('accounts_scored', 0):,} accounts, {row.get('flagged')} flagged, {row.get('rings')} rings, "
          f"{row.get('shards')} shards; load average {os.getloadavg()[0]:.1f}", flush=True)
    shutil.rmtree(work, ignore_errors=True)
    return row


if __name__ == "__main__":
    main()
