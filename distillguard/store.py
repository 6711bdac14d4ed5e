"""The DuckDB store: versioned schema, idempotent writes, and the relations analysts query.

Migrations in ``sql/migrations/NNN_name.sql`` are applied in order when a database is
opened; a database another version created is migrated forward, never wiped.

>>> import tempfile, pathlib
>>> with Store.open(pathlib.Path(tempfile.mkdtemp()) / "dg.duckdb") as store:
...     store.count("flagged_accounts")
0
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any, Iterator

import duckdb
import polars as pl

MIGRATION_NAME = re.compile(r"^(\d{3})_[\w-]+\.sql$")


def sql_text(name: str) -> str:
    """The text of ``sql/<name>`` shipped with the package (e.g. ``store/insert_events.sql``)."""
    return resources.files("distillguard.sql").joinpath(name).read_text(encoding="utf-8")


def migrations() -> list[tuple[int, str, str]]:
    """``(version, file name, sql)`` of every migration, in order."""
    folder = resources.files("distillguard.sql").joinpath("migrations")
    found = []
    for entry in folder.iterdir():
        match = MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


class Store:
    """A DuckDB database file holding events, rejects, accounts and detections."""

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path | None) -> None:
        self.con = con
        self.path = path

    @classmethod
    def open(cls, path: Path | str, *, read_only: bool = False) -> "Store":
        path = Path(path)
        if not read_only:
            path.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(path), read_only=read_only)
        con.execute("SET TimeZone = 'UTC'")
        store = cls(con, path)
        if not read_only:
            store.migrate()
        return store

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()

    # -- schema -------------------------------------------------------------------------
    def migrate(self) -> list[int]:
        """Apply every migration newer than the database; returns the versions applied."""
        self.con.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            "version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
        )
        done = {row[0] for row in self.con.execute("SELECT version FROM schema_migrations").fetchall()}
        applied = []
        for version, name, text in migrations():
            if version in done:
                continue
            self.con.execute("BEGIN TRANSACTION")
            try:
                self.con.execute(text)
                self.con.execute(
                    "INSERT INTO schema_migrations VALUES (?, ?, now()::TIMESTAMP)", [version, name]
                )
                self.con.execute("COMMIT")
            except Exception:
                self.con.execute("ROLLBACK")
                raise
            applied.append(version)
        return applied

    def schema_version(self) -> int:
        return self.scalar("SELECT coalesce(max(version), 0) FROM schema_migrations")

    # -- writes -------------------------------------------------------------------------
    @contextmanager
    def registered(self, name: str, frame: pl.DataFrame) -> Iterator[None]:
        self.con.register(name, frame.to_arrow())
        try:
            yield
        finally:
            self.con.unregister(name)

    def _changes(self, sql: str, name: str, frame: pl.DataFrame, params: dict | None = None) -> int:
        if frame.height == 0:
            return 0
        with self.registered(name, frame):
            before = self.count(_target_table(sql))
            self.con.execute(sql, params or {})
            after = self.count(_target_table(sql))
        return after - before

    def insert_events(self, events: pl.DataFrame, *, source: str) -> int:
        """Store accepted events; returns how many were new (repeated event_ids are ignored)."""
        return self._changes(sql_text("store/insert_events.sql"), "incoming_events", events, {"source": source})

    def insert_rejected(self, rejected: pl.DataFrame) -> int:
        return self._changes(sql_text("store/insert_rejected.sql"), "incoming_rejected", rejected)

    def upsert_accounts(self, accounts: pl.DataFrame) -> int:
        wanted = ["account_id", "created_at", "tier", "email_domain", "payment_fingerprint", "signup_ip", "country"]
        frame = accounts.select([
            pl.col(c) if c in accounts.columns else pl.lit(None, dtype=pl.String).alias(c) for c in wanted
        ])
        if frame.height == 0:
            return 0
        with self.registered("incoming_accounts", frame):
            self.con.execute(sql_text("store/upsert_accounts.sql"))
        return frame.height

    def replace_table(self, table: str, frame: pl.DataFrame) -> None:
        """Replace every row of ``table`` with ``frame`` (columns by name) in one transaction."""
        with self.registered("incoming_rows", frame):
            self.con.execute("BEGIN TRANSACTION")
            try:
                self.con.execute(f"DELETE FROM {table}")
                if frame.height:
                    self.con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM incoming_rows")
                self.con.execute("COMMIT")
            except Exception:
                self.con.execute("ROLLBACK")
                raise

    # -- reads --------------------------------------------------------------------------
    def count(self, relation: str) -> int:
        return self.scalar(f"SELECT count(*) FROM {relation}")

    def has_table(self, name: str) -> bool:
        """Whether a table or view ``name`` exists (a read-only database of an older version may lack one)."""
        return bool(self.scalar("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]))

    def scalar(self, sql: str, params: list | dict | None = None) -> Any:
        """The first value of the first row (the result is fully consumed)."""
        rows = self.con.execute(sql, params or []).fetchall()
        return rows[0][0] if rows else None

    def frame(self, sql: str, params: list | dict | None = None) -> pl.DataFrame:
        """A query's result as a Polars frame (DuckDB 2 returns Arrow; no ``.pl()``)."""
        return pl.from_arrow(self.con.sql(sql, params=params or None).to_arrow_table())


def _target_table(sql: str) -> str:
    match = re.search(r"INSERT\s+(?:OR\s+\w+\s+)?INTO\s+(\w+)", sql, re.IGNORECASE)
    if not match:
        raise ValueError("statement has no INSERT INTO target")
    return match.group(1)
