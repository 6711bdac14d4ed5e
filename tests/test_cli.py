"""Every CLI failure ends in one line on stderr (``error: ... (hint: ...)``), never a traceback,
and query results read well in a terminal: shared values once, long cells cut unless --full."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from rich.console import Console

from distillguard.cli import main
from distillguard.demo import next_commands, print_next_steps
from distillguard.simulator import SimulationConfig, simulate, write_traffic
from distillguard.tables import render_frame

SEED, SCALE = 5, 0.05


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    """A database written by `distillguard batch` over a small simulated population."""
    folder = tmp_path_factory.mktemp("cli")
    traffic = simulate(SimulationConfig(seed=SEED, scale=SCALE))
    paths = write_traffic(traffic, folder / "traffic", seed=SEED)
    path = folder / "dg.duckdb"
    assert main(["batch", "--logs", str(folder / "traffic"), "--accounts", str(paths["accounts"]),
                 "--db", str(path), "--quiet"]) == 0
    return path


@pytest.fixture(scope="module")
def top_account(db) -> str:
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        row = con.execute("SELECT account_id FROM flagged_accounts ORDER BY score DESC LIMIT 1").fetchone()
    assert row is not None, "the population has flagged accounts"
    return row[0]


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_line_error(err: str) -> str:
    """The stderr of a failed command, checked to be one `error:` line with a hint."""
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith("reading ")]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and "(hint: " in lines[0] and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize("args, code, hint", [
    (["--bogus"], 2, "`distillguard --help` lists the commands"),
    (["nosuch"], 2, "`distillguard --help` lists the commands"),
    (["sql", "--bogus"], 2, "`distillguard sql --help` lists the options"),
    (["demo", "--seed", "seven"], 2, "`distillguard demo --help`"),
    (["report", "--account", "a"], 2, "`distillguard report --help`"),          # --out missing
])
def test_usage_errors_are_one_line_naming_the_help(capsys, args, code, hint):
    got, _, err = run(capsys, *args)
    assert got == code
    assert hint in one_line_error(err)


@pytest.mark.parametrize("command", [
    ["sql", "SELECT 1"], ["query", "unreviewed_flags"], ["report", "--out", "x.html"], ["snapshot"],
    ["review", "acct-1", "--verdict", "confirmed", "--analyst", "a"],
])
def test_a_missing_database_names_the_demo_database(capsys, tmp_path, command):
    got, _, err = run(capsys, *command, "--db", tmp_path / "nope.duckdb")
    assert got == 2
    line = one_line_error(err)
    assert f"no database at {tmp_path / 'nope.duckdb'}" in line and "demo-output/distillguard.duckdb" in line


def test_evaluate_without_the_truth_file(capsys, db, tmp_path):
    got, _, err = run(capsys, "evaluate", "--db", db, "--truth", tmp_path / "truth.csv")
    assert got == 2 and "no truth file" in one_line_error(err)


def test_unknown_query_name(capsys, db):
    got, _, err = run(capsys, "query", "acount_profile", "--db", db)
    line = one_line_error(err)
    assert got == 2 and "no query named 'acount_profile'" in line and "account_profile" in line


@pytest.mark.parametrize("args, said", [
    (["--param", "account_id"], "--param needs NAME=VALUE"),
    (["--param", "account=x"], "takes parameters: $account_id"),
    (["--format", "xml", "--param", "account_id=x"], "--format must be table, csv or json"),
])
def test_bad_query_options(capsys, db, args, said):
    got, _, err = run(capsys, "query", "account_profile", "--db", db, *args)
    assert got == 2 and said in one_line_error(err)


@pytest.mark.parametrize("command, said", [
    (["query", "account_profile", "--param", "account_id=acct-nobody"], "no account 'acct-nobody' in this database"),
    (["query", "ring_profile", "--param", "ring_id=ring-nothing"], "no ring 'ring-nothing' in this database"),
    (["report", "--account", "acct-nobody", "--out", "{tmp}/r.html"], "no events of account 'acct-nobody'"),
    (["review", "acct-nobody", "--verdict", "confirmed", "--analyst", "a"], "no account 'acct-nobody'"),
])
def test_unknown_account_or_ring(capsys, db, tmp_path, command, said):
    got, _, err = run(capsys, *[c.replace("{tmp}", str(tmp_path)) for c in command], "--db", db)
    assert got in (1, 2) and said in one_line_error(err)


@pytest.mark.parametrize("sql, said", [
    ("SELEC 1", "syntax error"),
    ("SELECT * FROM flagged", "flagged_accounts"),                  # the hint lists the relations
    ("SELECT nosuch FROM rings", "DESCRIBE <relation>"),
])
def test_sql_errors_are_one_line(capsys, db, sql, said):
    got, _, err = run(capsys, "sql", sql, "--db", db)
    assert got == 1 and said in one_line_error(err)


def test_an_unreadable_database_is_one_line_too(capsys, tmp_path):
    bad = tmp_path / "dg.duckdb"
    bad.write_text("not a database\n")
    got, _, err = run(capsys, "snapshot", "--db", bad)
    assert got == 1 and "DISTILLGUARD_TRACEBACK=1" in one_line_error(err)


def test_the_console_script_exits_with_the_code(tmp_path):
    done = subprocess.run([sys.executable, "-m", "distillguard.cli", "query", "nosuch", "--db", str(tmp_path / "x.duckdb")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stderr.startswith("error: no query named 'nosuch'"), done.stderr


def test_account_profile_shows_the_standing_once(capsys, db, top_account):
    got, out, _ = run(capsys, "query", "account_profile", "--db", db, "--param", f"account_id={top_account}")
    assert got == 0
    lines = out.splitlines()
    assert sum(line.startswith("reasons:") for line in lines) == 1
    assert sum(line.startswith("account_id:") for line in lines) == 1
    assert any(line.startswith("n_requests ") or line.startswith("n_requests|") or line.split(" |")[0].strip() == "n_requests"
               for line in lines), out
    assert max(len(line) for line in lines) <= 100, max(lines, key=len)


def test_long_cells_are_cut_unless_full(capsys, db):
    sql = "SELECT account_id, reasons FROM flagged_accounts ORDER BY length(reasons) DESC LIMIT 3"
    got, cut, _ = run(capsys, "sql", sql, "--db", db)
    assert got == 0 and "--full shows them whole" in cut and "…" in cut
    got, whole, _ = run(capsys, "sql", sql, "--db", db, "--full")
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        longest = con.execute(sql).fetchone()[1]
    assert got == 0 and all(line in whole for line in longest.splitlines()) and "--full shows" not in whole
    assert not all(line in cut for line in longest.splitlines())


def test_render_frame_vertical_for_one_row():
    text = render_frame(pl.DataFrame({"ring_id": ["ring-1"], "reasons": ["first\nsecond"]}), width=80)
    assert text.splitlines() == ["ring_id: ring-1", "reasons: first", "         second"]


def test_render_frame_fits_the_width():
    frame = pl.DataFrame({"a": ["x" * 200, "y"], "b": ["z" * 90, "w"], "n": [1, 2]})
    lines = render_frame(frame, width=80).splitlines()
    assert all(len(line) <= 80 for line in lines[:-1]), lines
    assert lines[-1].startswith("long cells cut")
    assert any("x" * 200 in line for line in render_frame(frame, width=80, full=True).splitlines())


def test_the_demos_next_commands_are_never_broken_across_lines():
    console = Console(file=io.StringIO(), width=60)
    print_next_steps(console, Path("demo-output"), "acct-00070")
    printed = console.file.getvalue().splitlines()
    commands = next_commands(Path("demo-output/distillguard.duckdb"), Path("demo-output"), "acct-00070")
    assert len(commands) >= 3
    for _, command in commands:
        assert command in printed and len(command) > 60
