"""The DuckDB store: migrations on open, idempotent loads, the contract relations."""

from __future__ import annotations

import gzip
import json

import duckdb
import pytest

from distillguard.events import parse_records
from distillguard.load import load_logs, read_accounts
from distillguard.store import Store, migrations
from tests.helpers import valid_event

CONTRACT_COLUMNS = {
    "flagged_accounts": {"account_id", "score", "reasons", "ring_id"},
    "rings": {"ring_id", "kind", "n_accounts", "score", "reasons"},
    "ring_members": {"ring_id", "account_id"},
    "alerts": {"alert_id", "ts", "account_id", "score", "reasons"},
}


def columns(store: Store, relation: str) -> dict[str, str]:
    rows = store.con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ?", [relation]
    ).fetchall()
    return dict(rows)


def test_contract_relations_exist_with_their_columns(tmp_path):
    with Store.open(tmp_path / "dg.duckdb") as store:
        for relation, needed in CONTRACT_COLUMNS.items():
            assert needed <= set(columns(store, relation)), relation
        assert columns(store, "flagged_accounts")["score"] == "DOUBLE"
        assert columns(store, "alerts")["ts"] == "TIMESTAMP"
        assert columns(store, "rings")["n_accounts"] == "INTEGER"


def test_a_database_from_an_older_version_is_migrated_not_wiped(tmp_path):
    path = tmp_path / "old.duckdb"
    first_version, _, first_sql = migrations()[0]
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)")
    con.execute(first_sql)
    con.execute("INSERT INTO schema_migrations VALUES (?, 'first', now()::TIMESTAMP)", [first_version])
    con.execute("INSERT INTO flagged_accounts (account_id, score, reasons) VALUES ('kept', 1.0, 'analyst-visible')")
    con.close()
    with Store.open(path) as store:
        assert store.schema_version() == migrations()[-1][0]
        assert store.frame("SELECT account_id FROM flagged_accounts")["account_id"].to_list() == ["kept"]


def write_jsonl_gz(path, lines):
    with gzip.open(path, "wb") as handle:
        handle.write(b"\n".join(lines) + b"\n")


def test_loading_the_same_files_twice_changes_nothing(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    good = [json.dumps(valid_event(event_id=f"e{i}", account_id=f"a{i % 3}")).encode() for i in range(50)]
    write_jsonl_gz(logs / "day1.jsonl.gz", good[:30] + [b"garbage", good[0]])
    write_jsonl_gz(logs / "day2.jsonl.gz", good[25:] + [b'{"event_id": "x"}'])
    with Store.open(tmp_path / "dg.duckdb") as store:
        first = load_logs([logs], store, show_progress=False)
        counts = (store.count("events"), store.count("rejected_events"))
        second = load_logs([logs], store, show_progress=False)
        assert counts == (50, 2)
        assert (store.count("events"), store.count("rejected_events")) == counts
    assert first.inserted == 50 and first.rejected == 2
    assert second.inserted == 0


def test_missing_log_path_is_a_clear_error(tmp_path):
    from distillguard.logfiles import LogInputError

    with Store.open(tmp_path / "dg.duckdb") as store, pytest.raises(LogInputError, match="does not exist"):
        load_logs([tmp_path / "nope"], store, show_progress=False)


def test_accounts_file_later_record_wins_and_bad_rows_are_rejected(tmp_path):
    path = tmp_path / "accounts.csv"
    path.write_text(
        "account_id,created_at,tier,unknown_column\n"
        "a,2026-10-01T00:00:00Z,free,x\n"
        ",2026-10-01T00:00:00Z,free,x\n"
        "a,2026-10-02T00:00:00Z,paid,x\n"
        "b,not-a-date,paid,x\n"
    )
    accounts, rejected = read_accounts(path)
    assert accounts["account_id"].to_list() == ["a"]
    assert accounts["tier"].to_list() == ["paid"]
    assert sorted(rejected["reason_code"].to_list()) == ["bad_timestamp", "missing_field"]


def test_a_repeated_event_id_counts_once_whatever_its_timestamp(tmp_path):
    """The event_id is the identity: a resend days later (or with a rewritten ts) is no new event."""
    first = json.dumps(valid_event(event_id="same", ts="2026-11-02T10:00:00Z")).encode()
    later = json.dumps(valid_event(event_id="same", ts="2026-11-05T10:00:00Z")).encode()
    with Store.open(tmp_path / "dg.duckdb") as store:
        assert store.insert_events(parse_records([first], source="a").events, source="a") == 1
        assert store.insert_events(parse_records([later], source="b").events, source="b") == 0
        assert store.count("events") == 1


def test_a_truncated_gzip_file_keeps_what_was_readable_and_records_the_rest_as_unreadable(tmp_path, monkeypatch):
    from distillguard import logfiles

    monkeypatch.setattr(logfiles, "BLOCK_BYTES", 4096)      # many blocks, so the cut lands after some of them
    monkeypatch.setattr(logfiles, "_READ_BYTES", 1024)
    lines = [json.dumps(valid_event(event_id=f"e{i}", prompt="x" * (i % 50))).encode() for i in range(2_000)]
    whole = tmp_path / "whole.jsonl.gz"
    write_jsonl_gz(whole, lines)
    cut = tmp_path / "logs" / "cut.jsonl.gz"
    cut.parent.mkdir()
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with Store.open(tmp_path / "dg.duckdb") as store:
        report = load_logs([cut.parent], store, show_progress=False)
        stored = store.frame("SELECT event_id FROM events")["event_id"].to_list()
        rejected = store.frame("SELECT reason_code, position FROM rejected_events ORDER BY position")
    assert 500 < len(stored) < 2_000
    assert set(stored) == {f"e{i}" for i in range(len(stored))}       # a prefix of the file, nothing skipped
    assert rejected["reason_code"].to_list()[-1] == "unreadable_file"
    assert report.inserted == len(stored) and report.rejected == rejected.height


def test_a_large_load_is_stored_in_whole_row_groups_and_leaves_duckdb_threads_as_they_were(tmp_path):
    """Part-filled row groups cost a rewrite at the next checkpoint (DuckDB merges them), so a
    load inserts whole row groups on one DuckDB thread and only a file's last rows fill a part."""
    from distillguard.load import ROW_GROUP_ROWS

    n = 2 * ROW_GROUP_ROWS + 1000
    template = json.dumps(valid_event(event_id="ID", account_id="acct-ACCT"))
    lines = [template.replace("ID", f"e{i}").replace("ACCT", str(i % 40)).encode() for i in range(n)]
    write_jsonl_gz(tmp_path / "day.jsonl.gz", lines + lines[:500])            # repeats are dropped, not stored
    with Store.open(tmp_path / "dg.duckdb") as store:
        threads = store.scalar("SELECT current_setting('threads')")
        report = load_logs([tmp_path / "day.jsonl.gz"], store, show_progress=False)
        assert report.inserted == n and store.count("events") == n
        groups = store.frame("SELECT row_group_id, max(count) AS n FROM pragma_storage_info('events') "
                             "GROUP BY ALL ORDER BY row_group_id")["n"].to_list()
        assert groups == [ROW_GROUP_ROWS, ROW_GROUP_ROWS, 1000], groups
        assert store.scalar("SELECT current_setting('threads')") == threads
