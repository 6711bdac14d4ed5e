"""Batch detection over the stored events: features -> models -> rings -> flags with reasons.

Plain functions; the CLI, the pipeline and the Prefect flows call :func:`run_detection`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Protocol

import numpy as np
import polars as pl
from rich.console import Console

from distillguard.config import Settings
from distillguard.features import account_features
from distillguard.features.families import ALL_FEATURES
from distillguard.features.peers import peer_medians, with_peer_groups
from distillguard.features.registry import placed_names
from distillguard.models.anomaly import PeerOutlierModel, anomaly_from_z
from distillguard.models.policy import DetectionPolicy, beyond_a_bank
from distillguard.models.reasons import account_reasons
from distillguard.models.rings import derived_links, describe_rings, link_groups, link_values, participants, proxy_rings, rare_values, ring_evidence
from distillguard.reviews import apply_verdicts, decisions, review_sets
from distillguard.store import Store, sql_text

#: Features whose peer-group median the reasons quote ("peers median ..."): those with a place
#: among the peers in the feature registry (:mod:`distillguard.features.families`).
PEER_COLUMNS = placed_names(ALL_FEATURES, "peers")


class EventWindow(Protocol):
    """The events one detection run judges, and how its per-account work runs over them:
    :class:`LoadedWindow` (in this process) or :class:`distillguard.sharding.ShardedWindow`."""

    @property
    def n_events(self) -> int: ...

    def score(self, accounts: pl.DataFrame | None, settings: Settings) -> pl.DataFrame: ...

    def find_rings(self, scored: pl.DataFrame, accounts: pl.DataFrame | None, settings: Settings,
                   exclude: set[str] | None = None) -> tuple[list[dict], pl.DataFrame]: ...


@dataclass
class LoadedWindow:
    """The window's events held in this process (today's single-process path)."""

    events: pl.DataFrame

    @property
    def n_events(self) -> int:
        return self.events.height

    def score(self, accounts: pl.DataFrame | None, settings: Settings) -> pl.DataFrame:
        return score_accounts(self.events, accounts, settings)

    def find_rings(self, scored: pl.DataFrame, accounts: pl.DataFrame | None, settings: Settings,
                   exclude: set[str] | None = None) -> tuple[list[dict], pl.DataFrame]:
        return find_rings(self.events, scored, accounts, settings, exclude=exclude)


@dataclass
class DetectionResult:
    flagged: int = 0
    rings: int = 0
    accounts_scored: int = 0


def load_window(store: Store, horizon_hours: float | None) -> pl.DataFrame:
    """Stored events within ``horizon_hours`` of the newest one (all of them when None), by account and time.

    Polars sorts them: DuckDB's sort carries every column, prompts included, through the sort.
    """
    if horizon_hours is None:
        window = store.frame("SELECT * EXCLUDE (source, ingested_at) FROM events")
    else:
        window = store.frame(
            "SELECT * EXCLUDE (source, ingested_at) FROM events "
            "WHERE ts >= (SELECT max(ts) FROM events) - to_microseconds(CAST($h * 3600e6 AS BIGINT))",
            {"h": horizon_hours},
        )
    return window.sort("account_id", "ts", "event_id")


def _utc(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    dtype = frame.schema.get(column)
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is None:
        return frame.with_columns(pl.col(column).dt.replace_time_zone("UTC"))
    return frame


def policy_for(settings: Settings) -> DetectionPolicy:
    """The detection policy the settings describe (the robustness report's ablations included)."""
    return DetectionPolicy(settings.policy, ablate=settings.detection.ablate_families)


def with_anomaly(features: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    """``anomaly_z`` (robust z among the account's usage class, PyOD on shape features) and its 0-1 ``anomaly``."""
    z = np.zeros(features.height)
    if features.height >= 20 and "anomaly" not in settings.detection.ablate_families:
        model = PeerOutlierModel(min_requests=settings.detection.anomaly_min_requests, random_state=settings.detection.random_state)
        z = model.fit(features).score(features)
    return features.with_columns(pl.Series("anomaly_z", z), pl.Series("anomaly", anomaly_from_z(z)))


def score_accounts(events: pl.DataFrame, accounts: pl.DataFrame | None, settings: Settings) -> pl.DataFrame:
    """Per account: features, peer medians, anomaly, the policy's evidence, ``score``, severity and kind."""
    return score_features(account_features(events, accounts), settings)


def score_features(features: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    """:func:`score_accounts` from the per-account feature rows on: the population-wide steps
    (peers, outlier models, policy), which the sharded path runs once over every shard's rows."""
    features = peer_medians(with_peer_groups(features), PEER_COLUMNS)
    scored = policy_for(settings).score(with_anomaly(features, settings))
    return scored.with_columns(pl.col("score").alias("signature_score")).sort("account_id")


def find_rings(events: pl.DataFrame, scored: pl.DataFrame, accounts: pl.DataFrame | None, settings: Settings,
               exclude: set[str] | None = None) -> tuple[list[dict], pl.DataFrame]:
    """Rings among all accounts (none excluded but ``exclude``): link, group, judge collectively."""
    links = link_values(events, scored, settings.rings)
    return rings_from_links(links, lambda membership: events, scored, accounts, settings, exclude=exclude)


def rings_from_links(links: pl.DataFrame, member_events: Callable[[pl.DataFrame], pl.DataFrame], scored: pl.DataFrame,
                     accounts: pl.DataFrame | None, settings: Settings,
                     exclude: set[str] | None = None) -> tuple[list[dict], pl.DataFrame]:
    """:func:`find_rings` from the ``(account_id, value)`` link pairs on; ``member_events(membership)``
    gives the events the groups are judged on (the groups' members' at least: the sharded path
    gathers only theirs)."""
    ring_settings = settings.rings
    links = pl.concat([links, derived_links(links, scored, member_events, ring_settings)])
    linked = link_groups(links, ring_settings, exclude=exclude, scored=scored)
    if accounts is not None and "created_at" in accounts.columns and accounts.height:
        created = _utc(accounts.select("account_id", pl.col("created_at").alias("created_at_account")), "created_at_account")
        scored = scored.join(created, on="account_id", how="left")
    # what members ask again is beyond one evaluation's bank (many temperatures, a harvest's size): the policy says so
    if {"temperature_distinct", "distinct_prompts"} <= set(scored.columns):
        scored = scored.with_columns(beyond_a_bank(settings.policy).alias("beyond_a_bank"))
    # a group is judged as linked (bystanders on its networks lower its members' mean); only its participants are its ring
    evidence = ring_evidence(linked, links, scored, member_events(linked), ring_settings)
    rare = rare_values(links, ring_settings)        # over all links, the excluded accounts' too (link_groups reads its own)
    ring_rows, members = describe_rings(evidence, participants(linked, links, scored, ring_settings, rare), links, scored, ring_settings)
    if "score" not in scored.columns:
        return ring_rows, members
    taken = set(members["account_id"].to_list()) | (exclude or set())
    bar = policy_for(settings).population_bar(scored["score"])
    proxy_rows, proxy_members = proxy_rings(links, scored, taken, bar, ring_settings, rare)   # resellers of one or two accounts
    return ring_rows + proxy_rows, pl.concat([members, proxy_members])


def run_detection(
    store: Store,
    settings: Settings,
    *,
    run_id: str,
    show_progress: bool = True,
    horizon_hours: float | None = None,
    window: "EventWindow | None" = None,
) -> DetectionResult:
    """Score every account over the stored events and replace the current flags and rings.

    ``window``: where the events are and how per-account work runs over them (default:
    :func:`distillguard.sharding.open_window` picks this process or shards by the window's size).
    """
    console = Console(stderr=True, quiet=not show_progress)
    if window is None:
        from distillguard.sharding import open_window

        with console.status("reading events"):
            window = open_window(store, settings, horizon_hours)
    if window.n_events == 0:
        return DetectionResult()
    stored_accounts = store.frame("SELECT * FROM accounts")
    accounts = _utc(stored_accounts, "created_at") if stored_accounts.height else None
    with console.status(f"computing features and scoring the accounts of {window.n_events:,} events"):
        scored = window.score(accounts, settings)
    policy = policy_for(settings)
    threshold = policy.population_bar(scored["score"])
    calibrated = calibrated_bar(store)
    if calibrated is not None:
        threshold = max(threshold, calibrated)
    verdicts = decisions(store, scored)                       # analysts' verdicts in force, judged on this run
    confirmed, dismissed = review_sets(verdicts)
    with console.status("linking accounts through what they share and judging the groups"):
        ring_rows, members = window.find_rings(scored, accounts, settings, exclude=dismissed)   # dismissed accounts join no ring
    ring_of = dict(zip(members["account_id"].to_list(), members["ring_id"].to_list()))
    ring_reason = {r["ring_id"]: f"member of {r['kind']} ring {r['ring_id']} ({r['n_accounts']} account{'' if r['n_accounts'] == 1 else 's'})"
                   for r in ring_rows}
    ring_kind = {r["ring_id"]: r["kind"] for r in ring_rows}

    flagged = scored.filter((pl.col("score") >= threshold) | pl.col("account_id").is_in(list(ring_of) + list(confirmed)))
    flagged = apply_verdicts(flagged, verdicts, threshold=threshold)
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    previous = store.frame("SELECT account_id, first_flagged FROM flagged_accounts")
    first_flagged = dict(zip(previous["account_id"].to_list(), previous["first_flagged"].to_list()))
    rows = []
    for r in flagged.iter_rows(named=True):
        reasons = account_reasons(r)
        ring_id = ring_of.get(r["account_id"])
        if ring_id:
            reasons.insert(0, ring_reason[ring_id])
        if r.get("review_note"):
            reasons.insert(0, r["review_note"])
        if not reasons:
            reasons = [f"account score {r['score']:.2f} (flagging bar {threshold:.2f})"]
        kind = r["kind_guess"]
        if ring_id is not None:
            kind = "reseller" if ring_kind[ring_id] == "reseller" else "ring_member"
        rows.append({
            "account_id": r["account_id"], "score": float(r["score"]), "reasons": "\n".join(reasons), "ring_id": ring_id,
            "severity": policy.severity(float(r["score"])), "kind_guess": kind,
            "n_requests": int(r["n_requests"]), "first_seen": r["first_seen"].replace(tzinfo=None),
            "last_seen": r["last_seen"].replace(tzinfo=None), "first_flagged": first_flagged.get(r["account_id"]) or now,
            "last_flagged": now, "evidence": json.dumps(evidence(r), default=str), "run_id": run_id,
        })
    flagged_frame = pl.DataFrame(rows, schema=FLAGGED_SCHEMA)
    rings_frame = pl.DataFrame(
        [{**{k: v for k, v in r.items() if k != "shared"}, "shared": json.dumps(r["shared"], default=str), "run_id": run_id,
          "first_seen": r["first_seen"].replace(tzinfo=None), "last_seen": r["last_seen"].replace(tzinfo=None)} for r in ring_rows],
        schema=RINGS_SCHEMA,
    )
    with console.status("writing results"):
        store.replace_table("flagged_accounts", flagged_frame)
        store.replace_table("rings", rings_frame)
        store.replace_table("ring_members", members)
        write_account_features(store, scored, run_id)
    return DetectionResult(flagged=flagged_frame.height, rings=rings_frame.height, accounts_scored=scored.height)


FLAGGED_SCHEMA = pl.Schema({
    "account_id": pl.String(), "score": pl.Float64(), "reasons": pl.String(), "ring_id": pl.String(), "severity": pl.String(),
    "kind_guess": pl.String(), "n_requests": pl.Int64(), "first_seen": pl.Datetime("us"), "last_seen": pl.Datetime("us"),
    "first_flagged": pl.Datetime("us"), "last_flagged": pl.Datetime("us"), "evidence": pl.String(), "run_id": pl.String(),
})
RINGS_SCHEMA = pl.Schema({
    "ring_id": pl.String(), "kind": pl.String(), "n_accounts": pl.Int32(), "score": pl.Float64(), "reasons": pl.String(),
    "n_requests": pl.Int64(), "first_seen": pl.Datetime("us"), "last_seen": pl.Datetime("us"), "shared": pl.String(), "run_id": pl.String(),
})


#: Figures stored with each flag (``flagged_accounts.evidence``), with their peers' medians.
EVIDENCE_FIELDS = PEER_COLUMNS + ["signature_score", "anomaly_z", "peer_group", "account_age_days", "n_end_users",
                                  "n_client_styles", "n_user_agents", "n_ips", "hour_entropy", "distinct_prompts",
                                  "points_purpose", "points_operation", "points_reseller", "points_counter"]


def evidence(row: dict) -> dict:
    out = {}
    for name in EVIDENCE_FIELDS + [c for c in row if c.startswith("ev_")]:
        if name in row:
            out[name] = row[name]
            median = row.get(f"{name}_peer_median")
            if median is not None:
                out[f"{name}_peer_median"] = median
    return out


def write_account_features(store: Store, scored: pl.DataFrame, run_id: str) -> None:
    """Rebuild ``account_features``: every scored account's features and peer medians, for analysts."""
    keep = [c for c, t in scored.schema.items() if t != pl.Object and not isinstance(t, pl.List)]
    frame = scored.select(keep).with_columns(pl.lit(run_id).alias("run_id"))
    for c, t in frame.schema.items():
        if isinstance(t, pl.Datetime) and t.time_zone is not None:
            frame = frame.with_columns(pl.col(c).dt.replace_time_zone(None))
    with store.registered("incoming_features", frame):
        store.con.execute("CREATE OR REPLACE TABLE account_features AS SELECT * FROM incoming_features")


def calibrate(store: Store, settings: Settings, *, horizon_hours: float | None = 168.0) -> dict:
    """Refit the flagging bar on recent clean traffic, honouring analysts' verdicts.

    Clean traffic: accounts neither flagged now nor confirmed abusive by an analyst; accounts
    an analyst dismissed as false positives count as clean. The bar becomes the larger of the
    configured floor and the clean population's 99.9th percentile plus a margin, and is
    stored in ``calibration``; :func:`run_detection` reads the newest row.
    """
    from distillguard.sharding import open_window

    window = open_window(store, settings, horizon_hours)           # a large window in shards, as detection reads it
    if window.n_events == 0:
        return {"accounts": 0}
    accounts = store.frame("SELECT * FROM accounts")
    scored = window.score(_utc(accounts, "created_at") if accounts.height else None, settings)
    confirmed: set[str] = set()
    dismissed: set[str] = set()
    if store.has_table("reviews"):
        verdicts = store.frame(                    # account verdicts, ring verdicts counted for their members
            "SELECT account_id AS subject_id, verdict FROM account_verdicts"
        )
        confirmed = set(verdicts.filter(pl.col("verdict") == "confirmed")["subject_id"].to_list())
        dismissed = set(verdicts.filter(pl.col("verdict") == "false_positive")["subject_id"].to_list())
    flagged_now = set(store.frame("SELECT account_id FROM flagged_accounts")["account_id"].to_list())
    clean = scored.filter(~pl.col("account_id").is_in(list((flagged_now - dismissed) | confirmed)))
    values = clean["score"].to_numpy()
    p999 = float(np.quantile(values, 0.999)) if values.size else 0.0
    bar = max(1.0, p999 + 0.1)
    row = {"calibrated_at": datetime.now(timezone.utc).replace(tzinfo=None), "clean_accounts": int(values.size),
           "clean_median": float(np.median(values)) if values.size else 0.0, "clean_p999": p999,
           "confirmed": len(confirmed), "dismissed": len(dismissed), "flag_bar": bar}
    store.con.execute(sql_text("store/create_calibration.sql"))
    store.con.execute(
        "INSERT INTO calibration VALUES ($calibrated_at, $clean_accounts, $clean_median, $clean_p999, $confirmed, $dismissed, $flag_bar)", row
    )
    return row


def calibrated_bar(store: Store) -> float | None:
    """The newest calibrated flagging bar, if ``calibrate`` has run."""
    if not store.has_table("calibration"):
        return None
    return store.scalar("SELECT flag_bar FROM calibration ORDER BY calibrated_at DESC LIMIT 1")
