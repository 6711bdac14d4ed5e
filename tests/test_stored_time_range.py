"""Stored events the reader now refuses (issue 16). A database written before the accepted time
range may hold events at year 1 or 9999, or at year 0 or 10000 (``0001-01-01T00:00:00+14:00`` and
``9999-12-31T23:00:00-14:00`` in UTC), values Python's datetime cannot hold. Opening such a
database sets those events aside as dead letters instead of failing; features, batch detection
and every named query stay safe on any time stamp still stored (put in past the reader).
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import duckdb
import polars as pl
import pytest

from distillguard.config import load_settings
from distillguard.events import EVENT_SCHEMA
from distillguard.features import account_features
from distillguard.pipeline import detect
from distillguard.queries import query_info, query_names, run_query
from distillguard.store import Store, migrations

NOW = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
ODD_ACCOUNT = "acct-odd"
#: The odd time stamps, as microseconds since 1970 (UTC).
ODD_MICROS = {
    "year 0": pl.select(pl.datetime(0, 12, 31, 10, time_zone="UTC").dt.epoch("us")).item(),
    "year 1": pl.select(pl.datetime(1, 1, 1, time_zone="UTC").dt.epoch("us")).item(),
    "year 9999": pl.select(pl.datetime(9999, 12, 31, 23, time_zone="UTC").dt.epoch("us")).item(),
    "year 10000": pl.select(pl.datetime(10000, 1, 1, 13, time_zone="UTC").dt.epoch("us")).item(),
}
#: The ones Python's datetime holds, which the event lake's files can be given past the reader.
STORABLE = {name: ODD_MICROS[name] for name in ("year 1", "year 9999")}
#: Ordinary traffic: accounts x requests, one every 30 s over the last hours.
ACCOUNTS, REQUESTS = 30, 40


def events_frame(event_ids: list[str], micros: list[int], accounts: list[str]) -> pl.DataFrame:
    """Events as the reader hands them to the store (its schema), with the given times."""
    n = len(event_ids)
    columns = {name: pl.Series(name, [None] * n, dtype=dtype) for name, dtype in EVENT_SCHEMA.items()}
    columns.update(
        event_id=pl.Series("event_id", event_ids), account_id=pl.Series("account_id", accounts),
        ts=pl.Series("ts", micros, dtype=pl.Int64).cast(pl.Datetime("us", "UTC")),
        api_key_id=pl.Series("api_key_id", [f"key-{a}" for a in accounts]),
        client_ip=pl.Series("client_ip", ["198.51.100.7"] * n), endpoint=pl.Series("endpoint", ["/v1/messages"] * n),
        model=pl.Series("model", ["model-large"] * n), status=pl.Series("status", [200] * n, dtype=pl.Int64),
        prompt_tokens=pl.Series("prompt_tokens", [20] * n, dtype=pl.Int64),
        completion_tokens=pl.Series("completion_tokens", [400] * n, dtype=pl.Int64),
        prompt=pl.Series("prompt", [f"Explain topic {i % 17} step by step" for i in range(n)]),
    )
    return pl.DataFrame(columns).select(list(EVENT_SCHEMA))


def _micros(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=timezone.utc)) // timedelta(microseconds=1)


def traffic(odd: dict[str, int]) -> pl.DataFrame:
    """Ordinary traffic of :data:`ACCOUNTS` accounts, the first of them (:data:`ODD_ACCOUNT`) with
    one more event at each of the ``odd`` times."""
    start = NOW - timedelta(hours=6)
    ids, micros, accounts = [], [], []
    for a in range(ACCOUNTS):
        for i in range(REQUESTS):
            ids.append(f"e-{a}-{i}")
            micros.append(_micros(start + timedelta(seconds=30 * i + a)))
            accounts.append(ODD_ACCOUNT if a == 0 else f"acct-{a:02d}")
    ids += [f"odd-{name}" for name in odd]
    micros += list(odd.values())
    accounts += [ODD_ACCOUNT] * len(odd)
    return events_frame(ids, micros, accounts)


#: The last schema version whose ``events`` is a table the reader filled: an older database.
OLDER_SCHEMA = 6


def older_database(path, events: pl.DataFrame) -> None:
    """A database as an earlier version left it (migrations up to :data:`OLDER_SCHEMA`), holding
    ``events`` as they were stored, past today's reader."""
    con = duckdb.connect(str(path))
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, "
                    "applied_at TIMESTAMP NOT NULL)")
        for version, name, text in migrations():
            if version <= OLDER_SCHEMA:
                con.execute(text)
                con.execute("INSERT INTO schema_migrations VALUES (?, ?, now()::TIMESTAMP)", [version, name])
        con.register("older_events", events.with_columns(pl.col("ts").dt.replace_time_zone(None)).to_arrow())
        con.execute("INSERT INTO events BY NAME SELECT *, 'an older reader' AS source, now()::TIMESTAMP AS ingested_at "
                    "FROM older_events")
    finally:
        con.close()


def test_an_older_database_holding_them_opens_and_sets_them_aside_with_the_reason(tmp_path):
    db = tmp_path / "dg.duckdb"
    older_database(db, traffic(ODD_MICROS))
    with Store.open(db) as store:                                  # migrated forward, not stopped
        stored = store.count("events")
        odd_stored = store.scalar("SELECT count(*) FROM events WHERE account_id = ?", [ODD_ACCOUNT])
        rejected = store.frame("SELECT source, raw, reason_code, reason FROM rejected_events ORDER BY raw")
    assert (stored, odd_stored) == (ACCOUNTS * REQUESTS, REQUESTS)  # every ordinary event moved into the lake
    assert rejected["reason_code"].to_list() == ["timestamp_out_of_range"] * len(ODD_MICROS)
    assert all(f'"odd-{name}"' in raw for name, raw in zip(sorted(ODD_MICROS), rejected["raw"].to_list()))
    assert all("outside the accepted range" in reason for reason in rejected["reason"].to_list())
    assert set(rejected["source"].to_list()) == {"an older reader"}


def test_features_hold_any_time_stamp_polars_holds():
    events = traffic(ODD_MICROS)
    features = account_features(events)
    assert features.height == ACCOUNTS
    odd = features.filter(pl.col("account_id") == ODD_ACCOUNT)
    assert odd["n_requests"].item() == REQUESTS + len(ODD_MICROS)
    assert odd.select(pl.col("first_seen").dt.epoch("us"), pl.col("last_seen").dt.epoch("us")).row(0) == (
        ODD_MICROS["year 0"], ODD_MICROS["year 10000"])


def put_past_the_reader(store: Store, events: pl.DataFrame) -> None:
    """``events`` straight into the event lake's files, one file each in its partition, as no
    reader of this version writes them (the lake's own writer refuses what Python cannot date)."""
    from distillguard.lake import FILE_COLUMN, partition_of, to_lake_rows

    rows = to_lake_rows(events, source="past the reader")
    for k, ts in enumerate(rows["ts"].to_list()):
        path = store.lake.new_file_path(partition_of(ts))
        store.lake.write_file(path, rows.slice(k, 1).with_columns(pl.lit(path.rsplit("/", 1)[-1]).alias(FILE_COLUMN)))


@pytest.fixture(scope="module")
def odd_db(tmp_path_factory):
    """A database of this version holding events at years 1 and 9999 (put in past the reader)."""
    db = tmp_path_factory.mktemp("odd-times") / "dg.duckdb"
    events = traffic(STORABLE)
    odd = pl.col("event_id").str.starts_with("odd-")
    with Store.open(db) as store:
        store.insert_events(events.filter(~odd), source="the reader")
        put_past_the_reader(store, events.filter(odd))
        assert store.count("events") == ACCOUNTS * REQUESTS + len(STORABLE)
    return db


def test_batch_detection_runs_on_a_database_holding_them(odd_db):
    with Store.open(odd_db) as store:
        result = detect(store, load_settings(), show_progress=False)
        scored = set(store.frame("SELECT account_id FROM account_features")["account_id"].to_list())
    assert result.accounts_scored == ACCOUNTS and ODD_ACCOUNT in scored


@pytest.mark.parametrize("name", query_names())
def test_every_named_query_runs_quickly_on_them(odd_db, name):
    with Store.open(odd_db) as store:
        if not store.has_table("account_features") or store.count("account_features") == 0:
            detect(store, load_settings(), show_progress=False)
    params = {"account_id": ODD_ACCOUNT, "subject_id": ODD_ACCOUNT, "ring_id": "no-such-ring", "since": "2000-01-01"}
    with Store.open_analyst(odd_db) as store:
        started = time.monotonic()
        result = run_query(store, name, {p: params[p] for p in query_info(name).params})
        took = time.monotonic() - started
    assert took < 10.0, f"{name} took {took:.1f} s"
    assert result.height < 10_000, f"{name}: {result.height:,} rows"


def test_the_timeline_shows_the_odd_hours_and_a_bounded_quiet_spell_after_each(odd_db):
    with Store.open_analyst(odd_db) as store:
        timeline = run_query(store, "account_timeline", {"account_id": ODD_ACCOUNT})
    hours = timeline.select(pl.col("hour").dt.epoch("us"), "requests")
    active = hours.filter(pl.col("requests") > 0)
    assert timeline["requests"].sum() == REQUESTS + len(STORABLE)
    hour_us = 3600 * 10**6
    for name, micros in STORABLE.items():
        assert micros - micros % hour_us in active["hour"].to_list(), name
    # each active hour is followed by 31 days of quiet hours at most (744), never the years between
    assert timeline.height <= active.height * 745
    assert hours["hour"].is_sorted()
