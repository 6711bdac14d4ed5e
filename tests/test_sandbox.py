"""The analyst SQL path cannot change or leave its data (issue 16, point 1).

Every escape the issue reproduced is tried through the real command line (`distillguard sql`,
in-process with typer's CliRunner, and once as the installed console script) against three
set-ups: the analyst snapshot, no snapshot (the database itself opened read-only), and the
snapshot with `privacy.hash_identifiers` on. Each must be refused with one clear line and a
non-zero exit, and leave every file as it was: same bytes, same modification time, no new file,
same row counts in the live database.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest
from typer.testing import CliRunner

from distillguard.cli import app
from distillguard.config import Settings
from distillguard.events import parse_records
from distillguard.snapshot import open_analyst_store, publish_snapshot, snapshot_path_for
from distillguard.store import Store
from tests.helpers import valid_event

KEY = "sandbox-test-key"
RAW_IP = "198.51.100.7"
TABLES = ("events", "flagged_accounts", "accounts", "runs", "rejected_events")
MODES = ("snapshot", "database", "hashed")


@pytest.fixture(params=MODES)
def world(request, tmp_path, monkeypatch):
    return make_world(tmp_path, monkeypatch, request.param)


def make_world(tmp_path: Path, monkeypatch, mode: str) -> dict:
    """A live database with events, flags, accounts and a run; published as a snapshot (hashed or
    not) or left without one; the CLI configured through the environment like an analyst's shell."""
    db = tmp_path / "dg.duckdb"
    values = [json.dumps(valid_event(event_id=f"e{i}", account_id=f"acct-{i % 3}", client_ip=RAW_IP if i % 2 else "203.0.113.9",
                                     end_user_id=f"user-{i}")).encode() for i in range(30)]
    with Store.open(db) as store:
        store.insert_events(parse_records(values, source="test").events, source="test")
        store.upsert_accounts(pl.DataFrame({"account_id": ["acct-0"], "signup_ip": [RAW_IP]}))
        store.con.execute("INSERT INTO flagged_accounts (account_id, score, reasons) VALUES ('acct-0', 2.0, 'seen from 198.51.100.7')")
        store.con.execute("INSERT INTO runs (run_id, kind, started_at, finished_at, status) "
                          "VALUES ('r1', 'batch', now()::TIMESTAMP, now()::TIMESTAMP, 'finished')")
    writable_copy = tmp_path / "copy.duckdb"
    shutil.copyfile(db, writable_copy)                 # an analyst's own writable copy elsewhere
    monkeypatch.setenv("DISTILLGUARD_STORE__DB_PATH", str(db))
    settings = Settings(store={"db_path": db})
    if mode == "hashed":
        monkeypatch.setenv("DISTILLGUARD_PRIVACY__HASH_IDENTIFIERS", "true")
        monkeypatch.setenv("DISTILLGUARD_PRIVACY__HASH_KEY", KEY)
        settings = Settings(store={"db_path": db}, privacy={"hash_identifiers": True, "hash_key": KEY})
    if mode != "database":
        publish_snapshot(db, settings)
    opened = snapshot_path_for(db, settings).resolve() if mode != "database" else db
    return {"mode": mode, "db": db, "copy": writable_copy, "dir": tmp_path, "settings": settings, "opened": opened}


def file_state(folder: Path) -> dict[str, tuple[int, int, str]]:
    """Every file under ``folder`` (links by target name): size, mtime in ns, sha256."""
    state = {}
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            state[str(path)] = (0, 0, os.readlink(path))
        elif path.is_file():
            stat = path.stat()
            state[str(path)] = (stat.st_size, stat.st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest())
    return state


def row_counts(path: Path) -> dict[str, int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {table: con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in TABLES}
    finally:
        con.close()


def escapes(world) -> dict[str, str]:
    """The issue's escapes (and their close relatives), as an analyst would type them."""
    db, copy, folder, opened = world["db"], world["copy"], world["dir"], world["opened"]
    alias = opened.stem                                    # the session's default database
    return {
        "attach the live database and drop a table": f"ATTACH '{db}' AS w; DROP TABLE w.events",
        "attach the live database and empty the flags": f"ATTACH '{db}' AS w; DELETE FROM w.flagged_accounts",
        "delete from an attached writable copy": f"ATTACH '{copy}' AS c; DELETE FROM c.events",
        "delete in place": "DELETE FROM flagged_accounts",
        "drop in place": "DROP TABLE events",
        "update in place": "UPDATE flagged_accounts SET score = 0",
        "create a table in the data": "CREATE TABLE planted AS SELECT 1 AS x",
        "detach and re-attach writable": f"""ATTACH ':memory:' AS m; USE m; DETACH "{alias}"; ATTACH '{opened}' AS w; DROP TABLE w.events""",
        "re-attach the open file writable": f"ATTACH '{opened}' AS w (READ_WRITE); DROP TABLE w.events",
        "copy events to a file": f"COPY events TO '{folder / 'leak.csv'}'",
        "copy a query to parquet": f"COPY (SELECT * FROM events) TO '{folder / 'leak.parquet'}' (FORMAT parquet)",
        "export the database": f"EXPORT DATABASE '{folder / 'export'}'",
        "read_csv /etc/passwd": "SELECT * FROM read_csv('/etc/passwd', sep = ':')",
        "read_text /etc/passwd": "SELECT * FROM read_text('/etc/passwd')",
        "read_blob /etc/passwd": "SELECT * FROM read_blob('/etc/passwd')",
        "read_json /etc/passwd": "SELECT * FROM read_json('/etc/passwd')",
        "read_parquet a file": f"SELECT * FROM read_parquet('{folder / 'any.parquet'}')",
        "a file path as a table": "SELECT * FROM '/etc/passwd.csv'",
        "glob /root": "SELECT * FROM glob('/root/*')",
        "glob the data folder": f"SELECT * FROM glob('{folder}/*')",
        "attach a new path": f"ATTACH '{folder / 'new.duckdb'}' AS n; CREATE TABLE n.t AS SELECT * FROM events",
        "attach in memory": "ATTACH ':memory:' AS m; CREATE TABLE m.t AS SELECT * FROM events",
        "install httpfs": "INSTALL httpfs",
        "force install from a url": "FORCE INSTALL httpfs FROM 'http://127.0.0.1:9/'",
        "load httpfs": "LOAD httpfs",
        "read a url": "SELECT * FROM read_csv('http://127.0.0.1:9/x.csv')",
        "a persistent secret": "CREATE PERSISTENT SECRET s (TYPE s3, KEY_ID 'a', SECRET 'b')",
        "enable external access": "SET enable_external_access = true",
        "enable it for the session": "SET SESSION enable_external_access = true",
        "unlock the configuration": "SET lock_configuration = false",
        "reset the lock": "RESET lock_configuration",
        "allow a directory": "SET allowed_directories = ['/']",
        "spill to a directory": f"SET temp_directory = '{folder / 'spill'}'",
    }


def assert_refused(result, what: str) -> str:
    assert result.exit_code != 0, f"{what}: exit 0\n{result.output}"
    assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception, SystemExit), what
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, f"{what}: {result.stderr!r}"
    assert len(result.stderr.splitlines()) <= 2, f"{what}: more than the source line and one error line: {result.stderr!r}"
    assert "refused" in errors[0], f"{what}: {errors[0]}"
    return errors[0]


def test_every_escape_is_refused_and_leaves_every_file_untouched(world):
    before_files, before_rows = file_state(world["dir"]), row_counts(world["db"])
    copy_rows = row_counts(world["copy"])
    extensions = Path.home() / ".duckdb" / "extensions"
    had_extensions = extensions.exists()
    runner = CliRunner()
    for what, sql in escapes(world).items():
        result = runner.invoke(app, ["sql", "--db", str(world["db"]), sql])
        assert_refused(result, f"{world['mode']}: {what}")
        assert file_state(world["dir"]) == before_files, f"{world['mode']}: {what} changed or created a file"
    assert row_counts(world["db"]) == before_rows
    assert row_counts(world["copy"]) == copy_rows
    assert extensions.exists() == had_extensions                  # nothing was installed
    assert not (world["dir"] / "leak.csv").exists() and not (world["dir"] / "new.duckdb").exists()


def test_the_refusals_say_what_was_refused(world):
    runner = CliRunner()
    said = {what: assert_refused(runner.invoke(app, ["sql", "--db", str(world["db"]), sql]), what)
            for what, sql in escapes(world).items()}
    assert "read-only" in said["drop in place"] and "read-only" in said["delete in place"]
    assert "cannot read or write files" in said["copy events to a file"] and "leak.csv" in said["copy events to a file"]
    assert "/etc/passwd" in said["read_csv /etc/passwd"]
    assert "extensions" in said["install httpfs"] and "extensions" in said["load httpfs"]
    assert "settings are locked" in said["enable external access"]


def test_the_session_is_locked_for_named_queries_and_reports_too(world):
    """`query` and `report` open the same session as `sql` (open_analyst_store)."""
    with open_analyst_store(world["db"], world["settings"]) as source:
        settings = dict(source.store.con.execute(
            "SELECT name, value FROM duckdb_settings() WHERE name IN ('enable_external_access', 'lock_configuration', "
            "'autoinstall_known_extensions', 'autoload_known_extensions', 'temp_directory', 'allowed_directories', 'TimeZone')"
        ).fetchall())
        assert source.kind == ("database" if world["mode"] == "database" else "snapshot")
        with pytest.raises(duckdb.Error):
            source.store.con.execute(f"COPY events TO '{world['dir'] / 'leak.csv'}'")
    assert settings["enable_external_access"] == "false" and settings["lock_configuration"] == "true"
    assert settings["autoinstall_known_extensions"] == "false" and settings["autoload_known_extensions"] == "false"
    assert settings["temp_directory"] == "" and settings["allowed_directories"] == "[]" and settings["TimeZone"] == "UTC"
    before = file_state(world["dir"])
    runner = CliRunner()
    result = runner.invoke(app, ["query", "account_prompts", "--db", str(world["db"]),
                                 "--param", "account_id=acct-0'; DROP TABLE events; --"])
    assert result.exit_code == 1 and "error: no account" in result.stderr, result.output  # bound, never pasted: simply no such account
    report = world["dir"] / "out" / "report.html"
    result = runner.invoke(app, ["report", "--db", str(world["db"]), "--out", str(report)])
    assert result.exit_code == 0, result.output
    report.unlink()
    report.parent.rmdir()
    assert file_state(world["dir"]) == before
    assert row_counts(world["db"])["events"] == 30


def test_with_hashed_identifiers_nothing_reaches_the_raw_data(tmp_path, monkeypatch):
    world = make_world(tmp_path, monkeypatch, "hashed")
    db, runner = world["db"], CliRunner()
    found = runner.invoke(app, ["sql", "--db", str(db), f"SELECT count(*) AS n FROM events WHERE client_ip = '{RAW_IP}'"])
    assert found.exit_code == 0 and RAW_IP not in found.stdout and found.stdout.splitlines() == ["n: 0"], found.output
    assert RAW_IP not in runner.invoke(app, ["sql", "--db", str(db), "SELECT * FROM flagged_accounts"]).stdout
    for what, sql in {
        "attach the raw database read-only": f"ATTACH '{db}' AS raw (READ_ONLY); SELECT client_ip FROM raw.events",
        "the raw database as a table": f"SELECT * FROM '{db}'",
        "the raw database's bytes": f"SELECT content FROM read_blob('{db}')",
        "the raw database's text": f"SELECT content FROM read_text('{db}')",
        "the write-ahead log": f"SELECT * FROM read_blob('{db}.wal')",
    }.items():
        assert_refused(runner.invoke(app, ["sql", "--db", str(db), sql]), what)


def test_interactive_errors_are_one_line_and_the_session_goes_on(tmp_path, monkeypatch):
    world = make_world(tmp_path, monkeypatch, "snapshot")
    result = CliRunner().invoke(app, ["sql", "--db", str(world["db"])],
                                input="DROP TABLE events\nSELEC 1\nSELECT count(*) AS n FROM events\n.quit\n")
    assert result.exit_code == 0, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 2 and "refused" in errors[0] and "syntax error" in errors[1], result.stderr
    assert "30" in result.stdout and row_counts(world["db"])["events"] == 30


def test_the_installed_command_refuses_with_one_line_and_a_non_zero_exit(tmp_path, monkeypatch):
    world = make_world(tmp_path, monkeypatch, "database")           # no snapshot: the live file itself, read-only
    before = file_state(world["dir"])
    command = Path(sys.executable).with_name("distillguard")
    env = {**os.environ, "COLUMNS": "80"}
    done = subprocess.run([str(command), "sql", "--db", str(world["db"]),
                           f"ATTACH '{world['db']}' AS w; DROP TABLE w.events; COPY events TO '{world['dir'] / 'leak.csv'}'"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 2 and lines[1].startswith("error: refused") and "Traceback" not in done.stderr, done.stderr
    assert file_state(world["dir"]) == before and row_counts(world["db"])["events"] == 30


# -- plain SQL errors (issue 15 and 16): one line with a hint, never a traceback ---------------------

@pytest.mark.parametrize("sql, expected", [
    ("SELEC 1", ["syntax error", 'near "SELEC"', "hint:"]),
    ("SELECT * FROM evnts", ["evnts does not exist", 'Did you mean "events"', "hint: relations:", "flagged_accounts"]),
    ("SELECT nope FROM flagged_accounts", ['column "nope" not found', "Candidate bindings", "DESCRIBE"]),
    ("SELECT * FROM events WHERE account_id = $who", ["hint: bind each $name"]),
])
def test_a_wrong_query_is_one_line_with_a_hint(tmp_path, sql, expected):
    db = tmp_path / "dg.duckdb"
    with Store.open(db):
        pass
    result = CliRunner().invoke(app, ["sql", "--db", str(db), sql])
    assert result.exit_code == 1, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and len(result.stderr.splitlines()) == 2 and "Traceback" not in result.output, result.stderr
    for part in expected:
        assert part in errors[0], (part, errors[0])
    assert "LINE 1" not in result.stderr and "^" not in result.stderr


def test_a_malformed_param_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(app, ["sql", "--db", str(tmp_path / "x.duckdb"), "--param", "who", "SELECT 1"])
    assert result.exit_code == 2 and "NAME=VALUE" in result.stderr and result.exception is None or isinstance(result.exception, SystemExit)
