"""The event lake (issue 14, item 1): real Parquet files, real DuckDB databases, real processes.

Writers append in parallel without a lock; a repeated event_id counts once whichever way it came
(a reload, two writers at the same moment, a resend days later); the `events` view gives the rows
the events table gave; compaction keeps rows identical and applies retention; analysts read the
lake and cannot write into it.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import polars as pl
import pytest

from distillguard.config import LakeSettings
from distillguard.events import parse_records
from distillguard.lake import FILE_COLUMN, Lake, LakeWriter, maintain, to_lake_rows
from distillguard.store import Store, migrations, sql_text
from tests.helpers import valid_event

T0 = datetime.now(timezone.utc).replace(tzinfo=None, minute=0, second=0, microsecond=0) - timedelta(days=45)   # the reader rejects future events


def events(ids, *, start: datetime = T0, step_s: float = 60.0, prompt: str | None = "hello", **fields) -> pl.DataFrame:
    """Parsed events (the reader's frame) with the given ids, ``step_s`` apart from ``start``."""
    lines = [json.dumps(valid_event(event_id=str(i), ts=(start + timedelta(seconds=k * step_s)).isoformat() + "Z",
                                    prompt=prompt, **fields)).encode() for k, i in enumerate(ids)]
    return parse_records(lines, source="test").events


def view_rows(store: Store) -> pl.DataFrame:
    return store.frame("SELECT * EXCLUDE (ingested_at) FROM events ORDER BY event_id")


def _append_in_process(db: str, ids: list[str], barrier) -> int:
    frame = events(ids)
    barrier.wait()                          # every writer appends at the same moment
    writer = LakeWriter(Lake(str(Path(db).with_name("dg.lake"))))
    return writer.append(frame, source=f"writer-{os.getpid()}")


def test_writers_in_parallel_processes_append_without_a_lock_and_each_event_counts_once(tmp_path):
    db = tmp_path / "dg.duckdb"
    Store.open(db).close()
    shared = [f"shared-{i}" for i in range(300)]                     # every writer has these (a replay)
    batches = [shared + [f"own{w}-{i}" for i in range(200)] for w in range(3)]
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, context.Pool(3) as pool:
        barrier = manager.Barrier(3, timeout=120)
        written = pool.starmap(_append_in_process, [(str(db), ids, barrier) for ids in batches])
    with Store.open(db) as store:
        assert store.count("events") == 300 + 3 * 200
        assert store.scalar("SELECT count(DISTINCT event_id) FROM events") == store.count("events")
        writers = {f.name.split("-")[3] for f in store.lake.files()}
    assert len(writers) == 3                                   # each process wrote files of its own
    assert sum(written) >= 300 + 3 * 200                       # repeats written at the same moment are allowed ...


def test_threads_of_one_process_append_too(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    with Store.open(tmp_path / "dg.duckdb") as store:
        lake = store.lake
        frames = [events([f"t{t}-{i}" for i in range(100)] + ["common"]) for t in range(4)]
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda f: LakeWriter(lake).append(f, source="thread"), frames))
        assert store.count("events") == 4 * 100 + 1


def test_a_repeat_two_writers_wrote_at_the_same_moment_is_shown_once_and_compacted_away(tmp_path):
    """Two replicas after a rebalance: the one that lost the partition finishes its micro-batch while
    the new owner replays it; neither saw the other's file, so the lake holds the event twice."""
    with Store.open(tmp_path / "dg.duckdb") as store:
        lake = store.lake
        batch = events(["a", "b", "c"])
        first = to_lake_rows(batch, source="replica-1", ingested_at=T0 + timedelta(days=1))
        second = to_lake_rows(batch, source="replica-2", ingested_at=T0 + timedelta(days=1, seconds=1))
        for rows in (second, first):                           # the later copy lands first
            path = lake.new_file_path((f"{T0:%Y-%m-%d}", f"{T0:%H}"))
            lake.write_file(path, rows.with_columns(pl.lit(path.rsplit("/", 1)[-1]).alias(FILE_COLUMN)))
        assert pl.read_parquet([f.path for f in lake.files()]).height == 6
        assert store.count("events") == 3
        assert store.frame("SELECT DISTINCT source FROM events")["source"].to_list() == ["replica-1"]   # written first
        before = view_rows(store)

        report = maintain(lake, min_files=2)
        assert report.duplicates_removed == 3 and report.files_after == 1
        assert view_rows(store).equals(before)


def test_a_resend_days_later_and_a_reload_count_once(tmp_path):
    with Store.open(tmp_path / "dg.duckdb") as store:
        assert store.insert_events(events(["x", "y"]), source="a") == 2
        assert store.insert_events(events(["x", "y"]), source="a") == 0                          # the file loaded again
        assert store.insert_events(events(["x"], start=T0 + timedelta(days=3)), source="b") == 0  # within the look-back
        assert store.count("events") == 2


def test_beyond_the_look_back_a_resend_is_written_but_the_view_shows_it_once(tmp_path):
    settings = LakeSettings(dedupe_lookback_hours=1)
    with Store.open(tmp_path / "dg.duckdb", lake=settings) as store:
        store.insert_events(events(["x"]), source="a")
        assert store.insert_events(events(["x"], start=T0 + timedelta(days=5)), source="b") == 1
        assert store.count("events") == 1
        assert store.frame("SELECT source FROM events")["source"].to_list() == ["a"]


def test_the_events_view_gives_the_rows_the_events_table_gave(tmp_path):
    from distillguard.kafka_io import event_records
    from distillguard.simulator import SimulationConfig, simulate

    traffic = simulate(SimulationConfig(seed=3, scale=0.05))
    parsed = parse_records([value for _, value in event_records(traffic.events)], source="sim").events
    # today's path before the lake: the events table of version 1 and its insert statement
    table = duckdb.connect()
    table.execute("SET TimeZone = 'UTC'")
    table.execute(migrations()[0][2])
    table.register("incoming_events", parsed.to_arrow())
    table.execute(sql_text("store/insert_events.sql"), {"source": "sim"})
    expected = pl.from_arrow(table.sql("SELECT * EXCLUDE (ingested_at) FROM events ORDER BY event_id").to_arrow_table())
    with Store.open(tmp_path / "dg.duckdb") as store:
        assert store.insert_events(parsed, source="sim") == expected.height
        got = view_rows(store)
        assert got.schema == expected.schema
        assert got.equals(expected)
        described = store.frame("DESCRIBE events").select("column_name", "column_type")
    assert described.equals(pl.from_arrow(table.sql("SELECT column_name, column_type FROM (DESCRIBE events)").to_arrow_table()))


def test_compaction_keeps_rows_identical_and_retention_drops_old_events_and_prompts(tmp_path):
    with Store.open(tmp_path / "dg.duckdb") as store:
        for k in range(5):                                     # five small appends into the same hours
            store.insert_events(events([f"new-{k}-{i}" for i in range(20)], start=T0 + timedelta(days=40), step_s=120), source="s")
        store.insert_events(events([f"mid-{i}" for i in range(10)], start=T0 + timedelta(days=30)), source="s")
        store.insert_events(events([f"old-{i}" for i in range(10)]), source="s")
        lake = store.lake
        before = view_rows(store)
        files_before = len(lake.files())

        report = maintain(lake, min_files=4)                   # compaction only
        assert view_rows(store).equals(before)
        assert len(lake.files()) < files_before and report.partitions_compacted >= 1
        assert all(len(files) == 1 for files in lake.partitions().values())

        now = T0 + timedelta(days=41)
        report = maintain(lake, event_cutoff=now - timedelta(days=30), prompt_cutoff=now - timedelta(days=7), min_files=4)
        assert report.events_deleted == 10 and report.prompts_cleared == 10 and report.partitions_dropped == 1
        after = view_rows(store)
        assert not after["event_id"].str.starts_with("old-").any()
        assert after.filter(pl.col("event_id").str.starts_with("mid-"))["prompt"].null_count() == 10
        kept = pl.col("event_id").str.starts_with("new-")
        assert after.filter(kept).equals(before.filter(kept))   # younger rows untouched

        again = maintain(lake, event_cutoff=now - timedelta(days=30), prompt_cutoff=now - timedelta(days=7), min_files=4)
        assert (again.events_deleted, again.prompts_cleared, again.partitions_compacted) == (0, 0, 0)   # nothing left to do


def test_analysts_read_the_lake_and_cannot_write_into_it(tmp_path):
    db = tmp_path / "dg.duckdb"
    with Store.open(db) as store:
        store.insert_events(events(["a", "b"]), source="s")
        lake_dir = Path(store.lake.root)
    some_file = next(lake_dir.rglob("part-*.parquet"))
    before = {p: p.stat().st_mtime_ns for p in lake_dir.rglob("*")}
    with Store.open_analyst(db) as analyst:
        assert analyst.count("events") == 2
        for sql in (f"COPY (SELECT 1 AS event_id) TO '{some_file}' (USE_TMP_FILE false)",
                    f"COPY (SELECT 1 AS event_id) TO '{some_file.parent / 'planted.parquet'}'",
                    f"SELECT * FROM read_parquet('{some_file}')",
                    f"SELECT * FROM glob('{lake_dir}/**')",
                    "SET allowed_directories = ['/']"):
            with pytest.raises(duckdb.Error):
                analyst.con.execute(sql).fetchall()
    assert {p: p.stat().st_mtime_ns for p in lake_dir.rglob("*")} == before


def test_an_events_table_of_an_earlier_version_moves_into_the_lake(tmp_path):
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)")
    for version, name, text in migrations():
        if version < 7:
            con.execute(text)
            con.execute("INSERT INTO schema_migrations VALUES (?, ?, now()::TIMESTAMP)", [version, name])
    con.register("incoming_events", events(["a", "b", "c"]).to_arrow())
    con.execute(sql_text("store/insert_events.sql"), {"source": "old"})
    expected = pl.from_arrow(con.sql("SELECT * FROM events ORDER BY event_id").to_arrow_table())
    con.close()
    with Store.open(path) as store:
        assert store.frame("SELECT * FROM events ORDER BY event_id").equals(expected)
        assert store.scalar("SELECT table_type FROM information_schema.tables WHERE table_name = 'events'") == "VIEW"
        assert len(store.lake.files()) >= 1
