"""Ring detection time at scale: 100k accounts, one of them a 20,000-account ring.

    python benchmarks/ring_detection.py [--accounts 100000] [--ring 20000] [--record [README]]

Benign accounts use their own IPs (some behind shared campus NATs and cloud egress); ring
members share a proxy pool, payment fingerprints and one template, and each scores under the
flagging bar alone. Every account is linked (no prior suspicion). Prints the time of the ring
stage (link values -> groups -> collective evidence -> rings), the rings found, and peak RSS.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import add_record_option, peak_rss_mb, record_latest  # noqa: E402

from distillguard.config import Settings  # noqa: E402
from distillguard.detection import find_rings  # noqa: E402

#: A missing value for ``np.where`` (an object array: numpy's stubs read a plain None as no argument).
NONE = np.array(None, dtype=object)


def population(n_accounts: int, ring_size: int, seed: int = 0) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    ids = np.array([f"a{i:06d}" for i in range(n_accounts)])
    ring = set(ids[:ring_size])
    per_account = 4
    account = np.repeat(ids, per_account)
    n = account.size
    is_ring = np.isin(account, list(ring))
    benign_ip = np.where(rng.random(n) < 0.1, "198.51.100." + pl.Series(rng.integers(0, 40, n)).cast(pl.String).to_numpy(),
                         "10." + pl.Series(np.repeat(np.arange(n_accounts), per_account) // 256).cast(pl.String).to_numpy() + "."
                         + pl.Series(np.repeat(np.arange(n_accounts), per_account) % 256).cast(pl.String).to_numpy() + ".1")
    ring_ip = "203.0.113." + pl.Series(rng.integers(0, 200, n)).cast(pl.String).to_numpy()
    t0 = datetime(2026, 11, 2, tzinfo=timezone.utc)
    events = pl.DataFrame({
        "account_id": account,
        "client_ip": np.where(is_ring, ring_ip, benign_ip),
        "system_prompt_hash": np.where(is_ring, "sp-ring", NONE),
        "prompt": np.where(is_ring, "Explain topic " + pl.Series(np.arange(n)).cast(pl.String).to_numpy(), "hello there"),
        "user_agent": np.where(is_ring, "scraper/1.0", "browser/" + pl.Series(rng.integers(0, 50, n)).cast(pl.String).to_numpy()),
        "ts": [t0 + timedelta(seconds=int(s)) for s in rng.integers(0, 86400, n)],
    }).with_columns(pl.col("ts").dt.cast_time_unit("us"))
    is_ring_acct = np.isin(ids, list(ring))
    suspicious_benign = rng.random(n_accounts) < 0.02
    score = np.where(is_ring_acct, rng.uniform(0.3, 0.9, n_accounts),
                     np.where(suspicious_benign, rng.uniform(0.5, 1.2, n_accounts), rng.uniform(0, 0.3, n_accounts)))
    features = pl.DataFrame({
        "account_id": ids,
        "score": score,
        "n_requests": np.full(n_accounts, per_account),
        "points_purpose": np.where(is_ring_acct, 1.6, 0.1),
        "ev_downstream": np.zeros(n_accounts),
        "n_system_prompts": np.where(is_ring_acct, 1, 0),
        "payment_fingerprint": np.where(is_ring_acct, "pay-" + pl.Series(rng.integers(0, 50, n_accounts)).cast(pl.String).to_numpy(), NONE),
        "first_seen": [t0] * n_accounts,
        "last_seen": [t0] * n_accounts,
    })
    return events, features


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--ring", type=int, default=20_000)
    add_record_option(parser)
    args = parser.parse_args()
    events, features = population(args.accounts, args.ring)
    print(f"{args.accounts:,} accounts, {events.height:,} events, {int((features['score'] >= 1.0).sum()):,} over the account bar")
    start = time.perf_counter()
    rings, members = find_rings(events, features, None, Settings())
    seconds = time.perf_counter() - start
    sizes = sorted((r["n_accounts"] for r in rings), reverse=True)
    print(f"ring detection: {seconds:.1f} s; rings found: {len(rings)} (sizes {sizes[:5]}); peak RSS {peak_rss_mb():,.0f} MiB")
    biggest = members.group_by("ring_id").len().sort("len", descending=True)
    jaccard = None
    if biggest.height:
        top = set(members.filter(pl.col("ring_id") == biggest["ring_id"][0])["account_id"].to_list())
        truth = {f"a{i:06d}" for i in range(args.ring)}
        jaccard = len(top & truth) / len(top | truth)
        print(f"largest ring vs the planted ring: Jaccard {jaccard:.3f}")
    if args.record:
        record_latest(__file__, [{"accounts": args.accounts, "planted ring": args.ring, "events": events.height,
                                  "ring detection, s": seconds, "rings found": len(rings),
                                  "largest ring vs planted, Jaccard": jaccard, "peak RSS MiB": peak_rss_mb()}], args.record)


if __name__ == "__main__":
    main()
