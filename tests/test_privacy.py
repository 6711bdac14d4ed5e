"""Privacy controls: with `privacy.hash_identifiers` the analyst snapshot carries keyed hashes
of IPs and end-user ids (deterministic, so joins and reasons still line up), never the raw values."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import polars as pl
import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from distillguard.cli import app
from distillguard.config import Settings
from distillguard.events import parse_records
from distillguard.privacy import KeyedHasher
from distillguard.snapshot import SnapshotUnavailable, open_analyst_store, publish_snapshot
from distillguard.store import Store
from tests.helpers import valid_event

KEY = "test-key-not-secret"
IPS = ["198.51.100.7", "198.51.100.8", "2001:db8::42"]
USERS = ["alice@example.com", "u-123"]


def expected(value: str, key: str = KEY) -> str:
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()[:16]


def hashing(db: Path, key: str = KEY, **store) -> Settings:
    return Settings(store={"db_path": db, **store}, privacy={"hash_identifiers": True, "hash_key": key})


@pytest.fixture
def db(tmp_path) -> Path:
    path = tmp_path / "dg.duckdb"
    values = [json.dumps(valid_event(event_id=f"e{i}", account_id=f"acct-{i % 2}", client_ip=IPS[i % 3],
                                     end_user_id=USERS[i % 2])).encode() for i in range(12)]
    with Store.open(path) as store:
        store.insert_events(parse_records(values, source="test").events, source="test")
        store.upsert_accounts(pl.DataFrame({"account_id": ["acct-0"], "signup_ip": [IPS[0]]}))
        store.insert_rejected(parse_records([b'{"event_id": "x", "client_ip": "198.51.100.7"'], source="test").rejected)
        store.con.execute("INSERT INTO rings (ring_id, kind, n_accounts, score, reasons, shared) VALUES "
                          "('ring-1', 'coordinated', 2, 2.0, ?, ?)",
                          [f"2 of 2 members share client IP '{IPS[0]}'\n2 of 2 members share signup network '198.51.100.0/24'",
                           json.dumps({"values": [{"value": f"ip:{IPS[0]}", "holders": 2}, {"value": f"ip:{IPS[2]}", "holders": 2}]})])
        store.con.execute("INSERT INTO flagged_accounts (account_id, score, reasons) VALUES ('acct-0', 2.0, ?)",
                          [f"member of coordinated ring ring-1 (2 accounts); seen from {IPS[0]}."])
        # any table analysts add (verdicts with notes, a sequence, a view) is carried and scrubbed too
        store.con.execute("CREATE SEQUENCE IF NOT EXISTS verdict_seq START 1")
        store.con.execute("CREATE TABLE IF NOT EXISTS verdicts (id BIGINT DEFAULT nextval('verdict_seq'), end_user_id VARCHAR, "
                          "note VARCHAR, reasons_at_review VARCHAR)")
        store.con.execute("INSERT INTO verdicts (end_user_id, note, reasons_at_review) VALUES (?, ?, ?)",
                          [USERS[0], f"customer VPN exit {IPS[1]}, see ticket", f"shares client IP '{IPS[0]}'"])
        store.con.execute("CREATE OR REPLACE VIEW verdict_view AS SELECT id, note FROM verdicts")
    return path


def _all_text(store: Store) -> str:
    """Every text value of every table in the store, concatenated."""
    parts = []
    for table in store.frame("SELECT table_name FROM duckdb_tables()")["table_name"].to_list():
        frame = store.frame(f'SELECT * FROM "{table}"')
        parts += [str(v) for c, t in frame.schema.items() if t == pl.String for v in frame[c].to_list()]
    return "\n".join(parts)


def test_hashing_without_a_key_is_refused_clearly(tmp_path, monkeypatch):
    with pytest.raises(ValidationError, match="hash_key is empty"):
        Settings(privacy={"hash_identifiers": True})
    with pytest.raises(ValueError, match="hash_key is empty"):
        KeyedHasher("  ")
    monkeypatch.setenv("DISTILLGUARD_PRIVACY__HASH_IDENTIFIERS", "true")
    for command in (["sql", "--db", str(tmp_path / "x.duckdb"), "SELECT 1"], ["snapshot", "--db", str(tmp_path / "x.duckdb")],
                    ["report", "--db", str(tmp_path / "x.duckdb"), "--out", str(tmp_path / "r.html")]):
        result = CliRunner().invoke(app, command)
        assert result.exit_code == 2, command
        assert "hash_key is empty" in " ".join(result.output.split())


def test_the_snapshot_holds_keyed_hashes_and_the_database_keeps_the_originals(db):
    publish_snapshot(db, hashing(db))
    with open_analyst_store(db, hashing(db)) as source:
        assert source.hashed_identifiers
        text = _all_text(source.store)
        events = source.store.frame("SELECT client_ip, end_user_id FROM events")
        ring = source.store.frame("SELECT reasons, shared FROM rings").row(0, named=True)
        flagged = source.store.frame("SELECT reasons FROM flagged_accounts")["reasons"][0]
        rejected = source.store.frame("SELECT raw, reason_code FROM rejected_events").row(0, named=True)
        signup = source.store.scalar("SELECT signup_ip FROM accounts")
    for raw in IPS + USERS + ["198.51.100.0/24"]:
        assert raw not in text, f"{raw} leaked into the analyst snapshot"
    assert set(events["client_ip"]) == {expected(ip) for ip in IPS}
    assert set(events["end_user_id"]) == {expected(u) for u in USERS}
    assert signup == expected(IPS[0])
    # reasons quote the same hash as events, so analysts can still check them with SQL
    assert f"share client IP '{expected(IPS[0])}'" in ring["reasons"]
    assert f"signup network '{expected('198.51.100.0/24')}'" in ring["reasons"]
    assert [v["value"] for v in json.loads(ring["shared"])["values"]] == [f"ip:{expected(IPS[0])}", f"ip:{expected(IPS[2])}"]
    assert flagged.endswith(f"seen from {expected(IPS[0])}.")
    assert rejected["raw"] is None and rejected["reason_code"]
    with open_analyst_store(db, hashing(db)) as source:
        note = source.store.frame("SELECT note FROM verdict_view")["note"][0]
    assert note == f"customer VPN exit {expected(IPS[1])}, see ticket"
    with Store.open(db, read_only=True) as original:                   # detectors keep the real values
        assert set(original.frame("SELECT client_ip FROM events")["client_ip"]) == set(IPS)


def test_hashes_are_deterministic_per_key_so_joins_work(db, tmp_path):
    publish_snapshot(db, hashing(db, snapshot_path=tmp_path / "a.duckdb"))
    publish_snapshot(db, hashing(db, snapshot_path=tmp_path / "b.duckdb"))
    publish_snapshot(db, hashing(db, key="another key", snapshot_path=tmp_path / "c.duckdb"))
    ips = {}
    for name in "abc":
        with open_analyst_store(db, hashing(db, snapshot_path=tmp_path / f"{name}.duckdb")) as source:
            ips[name] = source.store.frame("SELECT event_id, client_ip FROM events ORDER BY event_id")
            per_ip = source.store.frame("SELECT client_ip, count(*) AS n FROM events GROUP BY 1 ORDER BY n")["n"].to_list()
            assert per_ip == [4, 4, 4]                                # same groups as the raw values
    assert ips["a"].equals(ips["b"])
    assert not set(ips["a"]["client_ip"]) & set(ips["c"]["client_ip"])


def test_no_fallback_to_the_raw_database_when_hashing(db):
    with pytest.raises(SnapshotUnavailable, match="not opened directly"):
        open_analyst_store(db, hashing(db))
    result = CliRunner().invoke(app, ["sql", "--db", str(db), "SELECT client_ip FROM events"],
                                env={"DISTILLGUARD_PRIVACY__HASH_IDENTIFIERS": "true", "DISTILLGUARD_PRIVACY__HASH_KEY": KEY})
    assert result.exit_code == 2 and "198.51.100" not in result.output


def test_batch_publishes_a_hashed_snapshot_and_the_report_shows_no_raw_ip(tmp_path):
    from tests.test_batch_command import write_day

    logs = tmp_path / "logs"
    logs.mkdir()
    write_day(logs / "day1.jsonl.gz", garbage=False)                     # every event from 203.0.113.7
    env = {"DISTILLGUARD_PRIVACY__HASH_IDENTIFIERS": "true", "DISTILLGUARD_PRIVACY__HASH_KEY": KEY}
    db = tmp_path / "dg.duckdb"
    runner = CliRunner()
    assert runner.invoke(app, ["batch", "--logs", str(logs), "--db", str(db), "--quiet"], env=env).exit_code == 0
    result = runner.invoke(app, ["sql", "--db", str(db), "SELECT DISTINCT client_ip FROM events"], env=env)
    assert result.exit_code == 0 and expected("203.0.113.7") in result.output and "203.0.113.7" not in result.output
    assert "identifiers hashed" in result.output
    out = tmp_path / "report.html"
    result = runner.invoke(app, ["report", "--db", str(db), "--account", "acct1", "--out", str(out)], env=env)
    assert result.exit_code == 0, result.output
    page = out.read_text()
    assert "203.0.113.7" not in page and expected("203.0.113.7") in page
