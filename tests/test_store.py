"""The DuckDB store: migrations on open, idempotent loads, the contract relations."""

from __future__ import annotations

import gzip
import json

import duckdb
import polars as pl
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
        # the events are in the lake (distillguard/lake.py): whole inserts, one file per insert and hour
        assert sum(pl.read_parquet(f.path).height for f in store.lake.files()) == n
        assert store.scalar("SELECT current_setting('threads')") == threads


# -- one writer at a time: waiting for the lock, one-line errors, runs left `running` ------------------

HOLD = ("import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('ready', flush=True); "
        "time.sleep(float(sys.argv[2])); c.close()")


def _hold(db, seconds: float):
    """Another process holding the database (as a batch, the stream or a flow does) for ``seconds``."""
    import subprocess
    import sys

    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(db), str(seconds)], stdout=subprocess.PIPE)
    assert holder.stdout.readline().strip() == b"ready"
    return holder


def _batch_logs(tmp_path):
    from tests.test_batch_command import write_day

    logs = tmp_path / "logs"
    logs.mkdir(exist_ok=True)
    write_day(logs / "day1.jsonl.gz", garbage=False)
    return logs


def test_a_locked_database_is_a_one_line_error_at_once_by_default(tmp_path):
    import pickle

    from distillguard.store import DatabaseLocked

    db = tmp_path / "dg.duckdb"
    Store.open(db).close()
    holder = _hold(db, 60)
    try:
        with pytest.raises(DatabaseLocked) as caught:
            Store.open(db)
    finally:
        holder.kill()
        holder.wait()
    message = str(caught.value)
    assert "\n" not in message and f"(pid {holder.pid})" in message and "hint:" in message, message
    assert isinstance(caught.value, duckdb.IOException)          # callers that catch DuckDB's lock error still do
    assert str(pickle.loads(pickle.dumps(caught.value))) == message


def test_a_second_batch_waits_for_the_lock_then_fails_with_one_line_and_a_hint(tmp_path, monkeypatch):
    import time

    from typer.testing import CliRunner

    from distillguard.cli import EXIT_LOCKED, app

    db, logs = tmp_path / "dg.duckdb", _batch_logs(tmp_path)
    Store.open(db).close()
    monkeypatch.setenv("DISTILLGUARD_STORE__LOCK_TIMEOUT_S", "1.5")
    holder = _hold(db, 60)                      # the first batch, still writing
    try:
        started = time.monotonic()
        result = CliRunner().invoke(app, ["batch", "--logs", str(logs), "--db", str(db), "--quiet"])
        waited = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    assert result.exit_code == EXIT_LOCKED, result.output
    assert waited >= 1.5
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and "Traceback" not in result.output, result.stderr
    assert lines[0].startswith(f"database {db} is locked by another process (pid {holder.pid}); waiting up to 1.5 s")
    assert lines[1].startswith("error: database") and "after waiting 1.5 s" in lines[1] and "hint:" in lines[1]
    assert "LOCK_TIMEOUT_S" in lines[1]
    with Store.open(db, read_only=True) as store:
        assert store.count("runs") == 0 and store.count("events") == 0      # nothing of the refused run


def test_a_second_batch_runs_once_the_first_lets_go(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from distillguard.cli import app

    db, logs = tmp_path / "dg.duckdb", _batch_logs(tmp_path)
    Store.open(db).close()
    monkeypatch.setenv("DISTILLGUARD_STORE__LOCK_TIMEOUT_S", "60")
    holder = _hold(db, 1.0)
    try:
        result = CliRunner().invoke(app, ["batch", "--logs", str(logs), "--db", str(db), "--quiet"])
    finally:
        holder.wait()
    assert result.exit_code == 0, result.output
    assert "waiting up to 60 s" in result.stderr
    with Store.open(db, read_only=True) as store:
        assert store.frame("SELECT status FROM runs")["status"].to_list() == ["finished"]


# A batch killed mid-run: the real pipeline, stopped while loading (its `runs` row is `running`).
KILLED_BATCH = r"""
import sys, time
import distillguard.pipeline as pipeline
from distillguard.config import Settings

def stuck(*args, **kwargs):
    print("running", flush=True)
    time.sleep(600)

pipeline.load_logs = stuck
pipeline.run_batch([sys.argv[1]], sys.argv[2], settings=Settings(store={"db_path": sys.argv[2]}), show_progress=False)
"""


def test_a_killed_batch_leaves_no_running_row_after_the_next_run(tmp_path):
    import signal
    import subprocess
    import sys

    from typer.testing import CliRunner

    from distillguard.cli import app

    db, logs = tmp_path / "dg.duckdb", _batch_logs(tmp_path)
    killed = subprocess.Popen([sys.executable, "-c", KILLED_BATCH, str(logs), str(db)], stdout=subprocess.PIPE)
    assert killed.stdout.readline().strip() == b"running"
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    with Store.open(db, read_only=True) as store:                      # what the issue saw: `running` for ever
        left = store.frame("SELECT run_id, status, pid, host FROM runs").row(0, named=True)
    assert left["status"] == "running" and left["pid"] == killed.pid
    result = CliRunner().invoke(app, ["batch", "--logs", str(logs), "--db", str(db), "--quiet"])
    assert result.exit_code == 0, result.output
    with Store.open(db, read_only=True) as store:
        runs = {r["run_id"]: r for r in store.frame("SELECT * FROM runs").to_dicts()}
    closed = runs.pop(left["run_id"])
    assert closed["status"] == "failed" and closed["finished_at"] is not None
    assert f"pid {killed.pid}" in closed["message"] and "killed or crashed" in closed["message"]
    assert [r["status"] for r in runs.values()] == ["finished"]


def test_only_runs_whose_process_is_gone_or_too_old_are_closed(tmp_path):
    import os
    import socket
    import subprocess
    import sys
    from datetime import datetime, timedelta, timezone

    db = tmp_path / "dg.duckdb"
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    here = socket.gethostname()
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    rows = [
        ("mine", now - timedelta(hours=30), os.getpid(), here),              # this process: in progress
        ("alive", now - timedelta(seconds=1), alive.pid, here),             # another live writer here
        ("gone", now - timedelta(minutes=5), gone.pid, here),              # killed: closed at once
        ("reused", now - timedelta(hours=1), alive.pid, here),              # its pid now names a younger process
        ("far-young", now - timedelta(hours=1), 123, "another-host"),     # cannot be checked: too young to judge
        ("far-old", now - timedelta(hours=7), 123, "another-host"),       # ... past store.stale_run_after_s
        ("no-pid-old", now - timedelta(hours=7), None, None),             # written by another tool, long ago
        ("no-pid-young", now - timedelta(hours=1), None, None),
    ]
    try:
        with Store.open(db) as store:
            for run_id, started, pid, host in rows:
                store.con.execute("INSERT INTO runs (run_id, kind, started_at, status, pid, host) VALUES (?, 'batch', ?, 'running', ?, ?)",
                                  [run_id, started, pid, host])
            store.con.execute("INSERT INTO runs (run_id, kind, started_at, finished_at, status) VALUES ('done', 'batch', ?, ?, 'finished')",
                              [now, now])
        with Store.open(db, stale_run_after_s=6 * 3600) as store:
            status = dict(store.con.execute("SELECT run_id, status FROM runs").fetchall())
            messages = dict(store.con.execute("SELECT run_id, message FROM runs WHERE status = 'failed'").fetchall())
            younger_bar = sorted(store.close_stale_runs(older_than_s=1800))      # a shorter configured age
    finally:
        alive.kill()
        alive.wait()
    assert {k for k, v in status.items() if v == "failed"} == {"gone", "reused", "far-old", "no-pid-old"}
    assert status["mine"] == status["alive"] == status["far-young"] == status["no-pid-young"] == "running"
    assert status["done"] == "finished"
    assert "started after the run" in messages["reused"] and "store.stale_run_after_s" in messages["far-old"]
    assert "no pid recorded" in messages["no-pid-old"]
    assert younger_bar == ["far-young", "no-pid-young"]


def test_a_run_row_records_the_process_that_writes_it(tmp_path):
    import os
    import socket

    with Store.open(tmp_path / "dg.duckdb") as store:
        store.con.execute("INSERT INTO runs (run_id, kind, started_at, status) VALUES ('r', 'rings', now()::TIMESTAMP, 'running')")
        assert store.con.execute("SELECT pid, host FROM runs").fetchone() == (os.getpid(), socket.gethostname())


def test_the_configured_stale_age_defaults_to_the_store_default():
    from distillguard.config import Settings
    from distillguard.store import STALE_RUN_AFTER_S

    assert Settings().store.stale_run_after_s == STALE_RUN_AFTER_S
    assert Settings().store.lock_timeout_s > 0


def test_two_migrations_with_one_version_are_refused(monkeypatch):
    import types

    import distillguard.store as store_module

    entries = [types.SimpleNamespace(name=name, read_text=lambda encoding=None: "SELECT 1")
               for name in ("001_base.sql", "006_a.sql", "006_b.sql")]
    folder = types.SimpleNamespace(iterdir=lambda: iter(entries))
    monkeypatch.setattr(store_module, "resources", types.SimpleNamespace(files=lambda package: types.SimpleNamespace(joinpath=lambda name: folder)))
    with pytest.raises(ValueError, match="006_a.sql and 006_b.sql share version 6"):
        store_module.migrations()
