"""Detection quality against a ground-truth file: the numbers every change is judged by.

A true ring counts as found when some predicted ring has Jaccard >= 0.5 with it.

>>> import polars as pl
>>> truth = pl.DataFrame({"account_id": ["a", "b", "c", "d"], "kind": ["bulk_extractor", "casual_chat", "coordinated_ring", "coordinated_ring"],
...     "label": ["attack", "benign", "attack", "attack"], "hard_negative": [False, False, False, False],
...     "ring_id": [None, None, "r1", "r1"], "ring_kind": [None, None, "coordinated", "coordinated"]})
>>> flagged = pl.DataFrame({"account_id": ["a", "c", "d"]})
>>> members = pl.DataFrame({"ring_id": ["x", "x"], "account_id": ["c", "d"]})
>>> rings = pl.DataFrame({"ring_id": ["x"], "kind": ["coordinated"]})
>>> m = evaluate_frames(truth, flagged, rings, members)
>>> m["account_recall"], m["precision"], m["ring_recall"], m["spurious_rings"]
(1.0, 1.0, 1.0, 0)
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from distillguard.store import Store

MATCH_JACCARD = 0.5


def read_truth(path: Path | str) -> pl.DataFrame:
    frame = pl.read_csv(path, infer_schema_length=0)
    return frame.with_columns(
        (pl.col("hard_negative").str.to_lowercase() == "true").alias("hard_negative"),
        pl.col("ring_id").replace("", None),
        pl.col("ring_kind").replace("", None),
    )


def _ratio(num: float | int | Decimal, den: int) -> float:
    return float(num) / den if den else 0.0


def evaluate_frames(
    truth: pl.DataFrame, flagged: pl.DataFrame, rings: pl.DataFrame, members: pl.DataFrame
) -> dict[str, Any]:
    """Account- and ring-level metrics from plain frames."""
    flagged_ids = set(flagged["account_id"].to_list())
    label = dict(zip(truth["account_id"].to_list(), truth["label"].to_list()))
    hard = dict(zip(truth["account_id"].to_list(), truth["hard_negative"].to_list()))
    attacks = {a for a, kind in label.items() if kind == "attack"}
    benign = {a for a, kind in label.items() if kind != "attack" and not hard[a]}
    hard_neg = {a for a, kind in label.items() if kind != "attack" and hard[a]}
    tp = len(flagged_ids & attacks)

    per_kind = (
        truth.with_columns(pl.col("account_id").is_in(list(flagged_ids)).alias("flagged"))
        .group_by("kind", "label")
        .agg(pl.len().alias("accounts"), pl.col("flagged").sum().alias("flagged"))
        .with_columns((pl.col("flagged") / pl.col("accounts")).round(3).alias("flag_rate"))
        .sort("label", "kind")
    )

    true_rings: dict[str, set[str]] = {}
    true_kind: dict[str, str] = {}
    for row in truth.filter(pl.col("ring_id").is_not_null()).iter_rows(named=True):
        true_rings.setdefault(row["ring_id"], set()).add(row["account_id"])
        true_kind[row["ring_id"]] = row["ring_kind"]
    pred_rings: dict[str, set[str]] = {}
    for ring_id, account_id in members.select("ring_id", "account_id").iter_rows():
        pred_rings.setdefault(ring_id, set()).add(account_id)
    pred_kind = dict(zip(rings["ring_id"].to_list(), rings["kind"].to_list())) if rings.height else {}

    def jaccard(a: set[str], b: set[str]) -> float:
        return len(a & b) / len(a | b) if a | b else 0.0

    best: dict[str, tuple[float, str | None]] = {}
    for tid, tmembers in true_rings.items():
        scored = [(jaccard(tmembers, pm), pid) for pid, pm in pred_rings.items()]
        best[tid] = max(scored, default=(0.0, None))
    found = {t for t, (j, _) in best.items() if j >= MATCH_JACCARD}
    kind_right = sum(1 for t in found if pred_kind.get(best[t][1]) == true_kind[t])
    spurious = [
        pid for pid, pm in pred_rings.items()
        if all(jaccard(pm, tm) < MATCH_JACCARD for tm in true_rings.values())
    ]
    in_rings = set().union(*pred_rings.values()) if pred_rings else set()

    return {
        "accounts": len(label),
        "attack_accounts": len(attacks),
        "flagged": len(flagged_ids),
        "account_recall": _ratio(tp, len(attacks)),
        "precision": _ratio(tp, len(flagged_ids)),
        "benign_fpr": _ratio(len(flagged_ids & benign), len(benign)),
        "hard_negative_fpr": _ratio(len(flagged_ids & hard_neg), len(hard_neg)),
        "true_rings": len(true_rings),
        "predicted_rings": len(pred_rings),
        "ring_recall": _ratio(len(found), len(true_rings)),
        "mean_best_jaccard": sum(j for j, _ in best.values()) / len(true_rings) if true_rings else 0.0,
        "ring_kind_accuracy": _ratio(kind_right, len(found)),
        "spurious_rings": len(spurious),
        "benign_in_rings": len(in_rings & (benign | hard_neg)),
        "per_kind": per_kind.to_dicts(),
    }


def evaluate_store(store: Store, truth: pl.DataFrame) -> dict[str, Any]:
    flagged = store.frame("SELECT account_id FROM flagged_accounts")
    rings = store.frame("SELECT ring_id, kind FROM rings")
    members = store.frame("SELECT ring_id, account_id FROM ring_members")
    return evaluate_frames(truth, flagged, rings, members)


#: Kinds the stream must alert on quickly: one account extracting on its own ...
FAST_ALERT_KINDS = ("bulk_extractor", "burner")
#: ... at bulk pace (per the truth's ``requests_per_day`` when it has one): an extractor sending 300
#: requests a day has sent two in its first ten minutes, too few for any judgement; its delay is
#: still reported (``slow_kind_delay_max_s``).
FAST_ALERT_MIN_PER_DAY = 1000
ALERT_DEADLINE_S = 600


def evaluate_alerts(truth: pl.DataFrame, alerts: pl.DataFrame, first_seen: pl.DataFrame,
                    deadline_s: float = ALERT_DEADLINE_S) -> dict[str, Any]:
    """Streaming alert quality: how fast single-account extractors are alerted, and who else is.

    ``alerts``: account_id, ts (event time the alert was raised at); ``first_seen``:
    account_id, first_ts (the account's first event). Delays are in event time.

    >>> from datetime import datetime, timedelta
    >>> t = datetime(2026, 11, 2)
    >>> truth = pl.DataFrame({"account_id": ["x", "y", "b", "h"], "kind": ["bulk_extractor", "burner", "casual_chat", "benchmark_runner"],
    ...     "label": ["attack", "attack", "benign", "benign"], "hard_negative": [False, False, False, True]})
    >>> alerts = pl.DataFrame({"account_id": ["x", "y", "h"], "ts": [t + timedelta(minutes=3), t + timedelta(minutes=30), t]})
    >>> first = pl.DataFrame({"account_id": ["x", "y", "b", "h"], "first_ts": [t, t, t, t]})
    >>> m = evaluate_alerts(truth, alerts, first)
    >>> m["fast_kinds_within_deadline"], m["benign_alert_rate"], m["hard_negative_alert_rate"]
    (0.5, 0.0, 1.0)
    """
    first_alert = alerts.group_by("account_id").agg(pl.col("ts").min().alias("alert_ts"))
    joined = (truth.join(first_seen, on="account_id", how="left").join(first_alert, on="account_id", how="left")
              .with_columns((pl.col("alert_ts") - pl.col("first_ts")).dt.total_seconds().alias("delay_s")))
    single = joined.filter(pl.col("kind").is_in(FAST_ALERT_KINDS) & pl.col("first_ts").is_not_null())
    if "requests_per_day" in joined.columns:
        per_day = pl.col("requests_per_day").cast(pl.Float64, strict=False)
        bulk_pace = per_day.is_null() | (per_day >= FAST_ALERT_MIN_PER_DAY)
    else:
        bulk_pace = pl.lit(True)
    fast, slow = single.filter(bulk_pace), single.filter(~bulk_pace)
    on_time = fast.filter(pl.col("delay_s") <= deadline_s)
    benign = joined.filter((pl.col("label") != "attack") & ~pl.col("hard_negative"))
    hard = joined.filter((pl.col("label") != "attack") & pl.col("hard_negative"))
    attacks = joined.filter(pl.col("label") == "attack")
    per_kind = (joined.group_by("kind", "label").agg(
        pl.len().alias("accounts"), pl.col("alert_ts").is_not_null().sum().alias("alerted"),
        pl.col("delay_s").median().alias("median_delay_s"), pl.col("delay_s").max().alias("max_delay_s"))
        .sort("label", "kind"))
    return {
        "fast_kind_accounts": fast.height,
        "fast_kinds_within_deadline": _ratio(on_time.height, fast.height),
        "fast_kind_delay_p50_s": fast["delay_s"].median(),
        "fast_kind_delay_max_s": fast["delay_s"].max(),
        "slow_kind_accounts": slow.height,
        "slow_kind_alerted": _ratio(slow["alert_ts"].is_not_null().sum(), slow.height),
        "slow_kind_delay_max_s": slow["delay_s"].max(),
        "attack_alert_rate": _ratio(attacks["alert_ts"].is_not_null().sum(), attacks.height),
        "benign_alert_rate": _ratio(benign["alert_ts"].is_not_null().sum(), benign.height),
        "hard_negative_alert_rate": _ratio(hard["alert_ts"].is_not_null().sum(), hard.height),
        "late_or_missed": fast.filter(~pl.col("account_id").is_in(on_time["account_id"].implode()))
                              .select("account_id", "kind", "delay_s").to_dicts(),
        "per_kind": per_kind.to_dicts(),
    }


HEADLINE = [
    ("account_recall", ">= 0.95"), ("precision", ">= 0.90"), ("benign_fpr", "<= 0.005"),
    ("hard_negative_fpr", "<= 0.02"), ("ring_recall", ">= 0.9"), ("mean_best_jaccard", ">= 0.8"),
    ("ring_kind_accuracy", ">= 0.9"), ("spurious_rings", "== 0"), ("benign_in_rings", "== 0"),
]


def render_report(metrics: dict[str, Any]) -> "object":
    """A rich renderable: headline metrics against their targets, then the per-kind table."""
    from rich.console import Group
    from rich.table import Table

    head = Table(title="Detection quality", show_lines=False)
    head.add_column("metric")
    head.add_column("value", justify="right")
    head.add_column("target")
    for key, target in HEADLINE:
        value = metrics[key]
        head.add_row(key, f"{value:.3f}" if isinstance(value, float) else str(value), target)
    kinds = Table(title="Per behaviour kind")
    for col in ("kind", "label", "accounts", "flagged", "flag_rate"):
        kinds.add_column(col, justify="right" if col in ("accounts", "flagged", "flag_rate") else "left")
    for row in metrics["per_kind"]:
        kinds.add_row(row["kind"], row["label"], str(row["accounts"]), str(row["flagged"]), f"{row['flag_rate']:.3f}")
    return Group(head, kinds)


def metrics_json(metrics: dict[str, Any]) -> str:
    return json.dumps(metrics, indent=2, default=str)
