"""`distillguard batch` as the contract states it, on hand-made files (the CLI, end to end)."""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timedelta, timezone

import duckdb
import polars as pl
from typer.testing import CliRunner

from distillguard.cli import app
from tests.helpers import valid_event

T0 = datetime(2026, 11, 2, tzinfo=timezone.utc)


def write_day(path, n_accounts=30, per_account=25, garbage=True):
    lines = []
    for a in range(n_accounts):
        for i in range(per_account):
            ts = (T0 + timedelta(minutes=37 * i + a)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
            lines.append(json.dumps(valid_event(event_id=f"{path.stem}-{a}-{i}", account_id=f"acct{a}", ts=ts,
                                                prompt=f"question {i} about thing {a}")).encode())
    if garbage:
        lines[5:5] = [b"{not json", b'{"event_id": 5}', json.dumps(valid_event(event_id="late", ts="31/12/2026")).encode()]
    with gzip.open(path, "wb") as handle:
        handle.write(b"\n".join(lines) + b"\n")
    return len(lines)


def test_batch_writes_every_contract_relation_and_exits_zero_despite_bad_records(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    write_day(logs / "day1.jsonl.gz")
    pl.DataFrame([valid_event(event_id="pq-1", account_id="acct1")]).write_parquet(logs / "extra.parquet")
    db = tmp_path / "out" / "dg.duckdb"
    result = CliRunner().invoke(app, ["batch", "--logs", str(logs), "--db", str(db), "--quiet"])
    assert result.exit_code == 0, result.output
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) FROM events").fetchall()[0][0] == 30 * 25 + 1
    assert con.execute("SELECT count(*) FROM rejected_events").fetchall()[0][0] == 3
    for relation in ("flagged_accounts", "rings", "ring_members", "alerts"):
        con.execute(f"SELECT * FROM {relation}").fetchall()
    con.close()


def test_batch_updates_an_existing_database_instead_of_wiping_it(tmp_path):
    logs1, logs2 = tmp_path / "d1", tmp_path / "d2"
    logs1.mkdir(), logs2.mkdir()
    write_day(logs1 / "day1.jsonl.gz", garbage=False)
    write_day(logs2 / "day2.jsonl.gz", garbage=False)
    db = tmp_path / "dg.duckdb"
    runner = CliRunner()
    assert runner.invoke(app, ["batch", "--logs", str(logs1), "--db", str(db), "--quiet"]).exit_code == 0
    assert runner.invoke(app, ["batch", "--logs", str(logs2), "--db", str(db), "--quiet"]).exit_code == 0
    assert runner.invoke(app, ["batch", "--logs", str(logs2), "--db", str(db), "--quiet"]).exit_code == 0
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) FROM events").fetchall()[0][0] == 2 * 30 * 25
    assert con.execute("SELECT count(*) FROM runs WHERE status = 'finished'").fetchall()[0][0] == 3
    con.close()


def test_batch_on_a_missing_path_fails_with_a_clear_message(tmp_path):
    result = CliRunner().invoke(app, ["batch", "--logs", str(tmp_path / "missing"), "--db", str(tmp_path / "x.duckdb")])
    assert result.exit_code == 2
    assert "does not exist" in " ".join(result.output.split())
