"""The DuckDB store: versioned schema, idempotent writes, and the relations analysts query.

Migrations in ``sql/migrations/NNN_name.sql`` are applied in order when a database is
opened; a database another version created is migrated forward, never wiped.

Analysts get :meth:`Store.open_analyst`: the file read-only in a locked-down DuckDB session
(:data:`ANALYST_SESSION_SETTINGS`).

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
#: DuckDB options an analyst session's instance starts with (see :meth:`Store.open_analyst`).
ANALYST_CONNECT_CONFIG = {
    "autoinstall_known_extensions": False,   # no extension is downloaded because a query names it
    "autoload_known_extensions": False,      # nor loaded (parquet, json and icu are built in)
    "allow_community_extensions": False,
    "allow_unsigned_extensions": False,
    "python_enable_replacements": False,     # a table name never reads a Python variable of this process
}
#: Then, once its database is open, these settings, in this order (DuckDB enforces them, not a
#: parser of ours; the order matters: the last two forbid changing any of them).
ANALYST_SESSION_SETTINGS: tuple[tuple[str, str], ...] = (
    ("TimeZone", "'UTC'"),
    ("temp_directory", "''"),                # nothing spills to disk: no files beside the database (and its
                                             # temp folder is not an allowed directory once access is off)
    ("allowed_directories", "[]"),           # no exceptions to the next setting (DuckDB itself re-adds the open
    ("allowed_paths", "[]"),                 # database's own files, which COPY cannot write)
    ("enable_external_access", "false"),     # no file but the open database, no URL: no read_csv/glob/read_blob...,
                                             # COPY TO/FROM, EXPORT/IMPORT, ATTACH of a file, INSTALL or LOAD
    ("lock_configuration", "true"),          # no SET/RESET can undo any of the above
)


def lock_down(con: duckdb.DuckDBPyConnection) -> None:
    """Make ``con``'s DuckDB instance an analyst session: :data:`ANALYST_SESSION_SETTINGS`.

    Call it once every database the session needs is open: with external access off nothing
    else can be opened. An instance this process already locked (the same file opened twice; Python's
    DuckDB shares the instance) is checked instead. Settings are global, so a second connection
    to the shared instance has them too.
    """
    if con.execute("SELECT current_setting('lock_configuration')").fetchone()[0]:
        if con.execute("SELECT current_setting('enable_external_access')").fetchone()[0]:
            raise RuntimeError("this DuckDB instance is locked with external access on; it cannot serve analysts")
        return
    for name, value in ANALYST_SESSION_SETTINGS:
        con.execute(f"SET GLOBAL {name} = {value}")


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

    @classmethod
    def open_analyst(cls, path: Path | str) -> "Store":
        """``path`` read-only in an analyst session that cannot change or leave its data.

        The instance is opened read-only, so every database in it is read-only: ``ATTACH`` of the
        same file cannot make it writable, and no in-memory database can be attached to switch to
        while the file is detached and attached again writable (which a read-only ``ATTACH`` into
        an in-memory session would allow). It starts with :data:`ANALYST_CONNECT_CONFIG` and is
        locked down with :data:`ANALYST_SESSION_SETTINGS`: no other file, URL or extension can be
        reached and no setting changed. Refusals are DuckDB's own errors (``Permission Error``,
        ``read-only mode``, ``configuration has been locked``).
        """
        path = Path(path)
        con = duckdb.connect(str(path), read_only=True, config=ANALYST_CONNECT_CONFIG)
        try:
            lock_down(con)
        except BaseException:
            con.close()
            raise
        return cls(con, path)

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
