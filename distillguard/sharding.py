"""Sharded batch detection: per-account work split by account hash, population work done once.

Every per-account feature reads its own account's events only; the one figure they share is the
window's span (``requests_per_day`` and ``day_coverage`` divide by it), measured once over the
whole window and handed to every shard. So a window is split by ``hash(account_id) % shards``
into shards, each a folder of Parquet files holding only its accounts' events and account rows
(:func:`export_window`, a streaming DuckDB ``COPY`` under the coordinator's memory limit), and
a shard's task (:func:`shard_features`) computes its accounts' feature rows and their ring link
pairs ``(account_id, value)``. The coordinator gathers those (one row per account, a few pairs
per account), runs what compares accounts with each other once over the whole population (peer
medians, the outlier models, the policy's population bar, the ring graph), then asks the shards
once more for what the collective ring evidence reads of the groups' members only
(:func:`shard_member_events`: their minutes of activity and which prompts they sent).

Nothing holds the whole window: a worker holds one shard at a time, and shards are sized so that
the workers' share of ``[execution] memory_budget_mb`` fits them (:func:`shard_count`).
:class:`ShardedWindow` is the :class:`~distillguard.detection.EventWindow` the detection run
reads; its runner maps the shards over this process (:class:`InProcessRunner`, the CLI) or over a
Dask cluster through Prefect tasks (``distillguard.flows.batch``).
"""

from __future__ import annotations

import math
import shutil
import tempfile
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import polars as pl

from distillguard.config import ExecutionSettings, Settings
from distillguard.features.text import prompt_identity
from distillguard.store import Store

#: The events' columns a shard reads (the store's own bookkeeping columns are left out, as the
#: single-process path leaves them out).
SKIPPED_COLUMNS = ("source", "ingested_at")


@dataclass(frozen=True)
class ShardPlan:
    """Where a window's shards are and what every shard needs to know about the whole window."""

    directory: str           # <directory>/events/shard=<k>/*.parquet, <directory>/accounts/shard=<k>/*.parquet
    shards: int
    n_events: int
    window_hours: float      # the whole window's span, as the single-process features measure it

    def shard_files(self, table: str, shard: int) -> Path | None:
        """The Parquet folder of ``table`` (events or accounts) for ``shard``; None when it is empty."""
        folder = Path(self.directory) / table / f"shard={shard}"
        return folder if folder.is_dir() and any(folder.glob("*.parquet")) else None


def shard_count(n_events: int, execution: ExecutionSettings) -> int:
    """Shards for a window of ``n_events``: at least ``min_shards``, more until the shards the
    workers hold at once fit their part of the memory budget.

    >>> shard_count(2_700_000, ExecutionSettings()), shard_count(20_000_000, ExecutionSettings())
    (4, 18)
    >>> shard_count(20_000_000, ExecutionSettings(memory_budget_mb=3072))
    36
    """
    at_once = max(1, execution.n_workers * execution.threads_per_worker)
    worker_bytes = execution.memory_budget_mb * 2**20 * (1.0 - execution.coordinator_share) / at_once
    events_per_shard = max(1, int(worker_bytes / execution.shard_bytes_per_event))
    return max(execution.min_shards, math.ceil(n_events / events_per_shard))


def window_filter(horizon_hours: float | None) -> str:
    """The SQL condition choosing a window's events (the newest ``horizon_hours`` of them; all when None),
    as :func:`distillguard.detection.load_window` chooses them.

    >>> window_filter(None)
    'TRUE'
    >>> window_filter(24)
    'ts >= (SELECT max(ts) FROM events) - to_microseconds(CAST(86400000000.0 AS BIGINT))'
    """
    if horizon_hours is None:
        return "TRUE"
    return f"ts >= (SELECT max(ts) FROM events) - to_microseconds(CAST({float(horizon_hours) * 3600e6!r} AS BIGINT))"


def window_extent(store: Store, horizon_hours: float | None) -> tuple[int, int]:
    """Events in the window, and microseconds from its first time stamp to its last (0 without events)."""
    n, span_us = store.con.execute(
        f"SELECT count(*), coalesce(max(epoch_us(ts)) - min(epoch_us(ts)), 0) FROM events WHERE {window_filter(horizon_hours)}"
    ).fetchall()[0]                          # fetched to the end: DuckDB keeps an unfinished result open
    return int(n), int(span_us)


def span_hours(span_us: int) -> float:
    """The span features describe, as :func:`distillguard.features.prepare_events` measures a
    window's own span (:func:`~distillguard.features.events_span_s`, at least one hour): the
    same float, so every shard divides by what one process would.

    >>> span_hours(0), span_hours(48 * 3600 * 10**6 + 1)
    (1.0, 48.00000000027778)
    """
    return max(1.0, (float(span_us) / 1e6) / 3600.0)


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


#: How the shards' Parquet is compressed (DuckDB ``COPY`` options): 1.8 s against Snappy's 2.1 s for a million
#: simulated events, 57 MiB against 127 MiB.
SCRATCH_COMPRESSION = "COMPRESSION 'zstd', COMPRESSION_LEVEL 1"


def export_window(store: Store, horizon_hours: float | None, directory: Path, shards: int, *,
                  memory_limit_mb: int | None = None, extent: tuple[int, int] | None = None) -> ShardPlan:
    """Write the window's events and the account rows, each into ``shards`` Parquet folders by
    ``hash(account_id) % shards``, in one streaming DuckDB ``COPY`` each (``memory_limit_mb``:
    DuckDB's limit meanwhile; it spills beyond it). ``extent``: :func:`window_extent`, when the caller
    already counted it (a scan of the window saved). The shards are scratch files read once: Zstandard at
    its fastest level writes them quicker than the default Snappy, at half the size."""
    n_events, span_us = extent if extent is not None else window_extent(store, horizon_hours)
    directory.mkdir(parents=True, exist_ok=True)
    con = store.con
    saved = {name: con.execute(f"SELECT current_setting('{name}')").fetchall()[0][0]
             for name in ("memory_limit", "preserve_insertion_order", "enable_progress_bar")}
    try:
        if memory_limit_mb:
            con.execute(f"SET memory_limit = '{int(memory_limit_mb)}MB'")
        con.execute("SET preserve_insertion_order = false")       # the shards sort their own rows
        con.execute("SET enable_progress_bar = false")
        skipped = ", ".join(SKIPPED_COLUMNS)
        con.execute(
            f"COPY (SELECT * EXCLUDE ({skipped}), hash(account_id) % {int(shards)} AS shard FROM events "
            f"WHERE {window_filter(horizon_hours)}) "
            f"TO '{_sql_path(directory / 'events')}' (FORMAT parquet, PARTITION_BY (shard), OVERWRITE_OR_IGNORE, {SCRATCH_COMPRESSION})"
        )
        if store.scalar("SELECT count(*) FROM accounts"):
            con.execute(
                f"COPY (SELECT *, hash(account_id) % {int(shards)} AS shard FROM accounts) "
                f"TO '{_sql_path(directory / 'accounts')}' (FORMAT parquet, PARTITION_BY (shard), OVERWRITE_OR_IGNORE, {SCRATCH_COMPRESSION})"
            )
    finally:
        for name, value in saved.items():
            con.execute(f"SET {name} = '{value}'")
    return ShardPlan(str(directory), int(shards), n_events, span_hours(span_us))


def _utc(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    dtype = frame.schema.get(column)
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is None:
        return frame.with_columns(pl.col(column).dt.replace_time_zone("UTC"))
    return frame


def _scan(folder: Path) -> pl.LazyFrame:
    return pl.scan_parquet(folder / "*.parquet", hive_partitioning=False).drop("shard", strict=False)


def read_shard_events(plan: ShardPlan, shard: int) -> pl.DataFrame:
    """One shard's events, by account and time (as :func:`distillguard.detection.load_window` orders them)."""
    folder = plan.shard_files("events", shard)
    if folder is None:
        return pl.DataFrame()
    return _utc(_scan(folder).collect().sort("account_id", "ts", "event_id"), "ts")


def read_shard_accounts(plan: ShardPlan, shard: int) -> pl.DataFrame | None:
    """One shard's account rows (None when the shard has none)."""
    folder = plan.shard_files("accounts", shard)
    if folder is None:
        return None
    accounts = _scan(folder).collect()
    return _utc(accounts, "created_at") if accounts.height else None


@dataclass
class ShardFeatures:
    """What one shard sends back: one feature row per account and its accounts' ring link pairs."""

    features: pl.DataFrame
    links: pl.DataFrame


def shard_features(plan: ShardPlan, shard: int, settings: Settings) -> ShardFeatures:
    """Feature rows and ring link pairs of one shard's accounts (the per-account part of detection)."""
    from distillguard.features import account_features
    from distillguard.models.rings import link_values

    events = read_shard_events(plan, shard)
    if events.height == 0:
        return ShardFeatures(pl.DataFrame(), pl.DataFrame(schema={"account_id": pl.String, "value": pl.String}))
    features = account_features(events, read_shard_accounts(plan, shard), window_hours=plan.window_hours)
    return ShardFeatures(features, link_values(events, features, settings.rings))


def prompt_fingerprint(prompt: pl.Expr, prompt_tokens: pl.Expr) -> pl.Expr:
    """A 128-bit fingerprint (two 64-bit hashes) of the prompt's identity as ring evidence compares it
    (:func:`distillguard.features.text.prompt_identity`): equal prompts, equal fingerprints, across
    processes (Polars' seeded hashes are fixed)."""
    identity = prompt_identity(prompt, prompt_tokens)
    fingerprint = pl.concat_str([identity.hash(seed=101).cast(pl.String), identity.hash(seed=202).cast(pl.String)], separator="-")
    return pl.when(prompt.is_not_null()).then(fingerprint)          # Polars hashes a null to a value


def shard_member_events(plan: ShardPlan, shard: int, members: list[str]) -> pl.DataFrame:
    """What the collective ring evidence reads of the events of ``members`` in one shard: account,
    time and the prompt's fingerprint in place of its text (null when no prompt was logged)."""
    folder = plan.shard_files("events", shard)
    if folder is None or not members:
        return pl.DataFrame()
    frame = (
        _scan(folder)
        .filter(pl.col("account_id").is_in(members))
        .select("account_id", "ts", prompt_fingerprint(pl.col("prompt"), pl.col("prompt_tokens")).alias("prompt"))
        .collect()
    )
    return _utc(frame, "ts")


def gather(frames: list[pl.DataFrame]) -> pl.DataFrame:
    """The shards' frames as one (empty shards skipped)."""
    frames = [f for f in frames if f.height]
    return pl.concat(frames, how="vertical_relaxed") if frames else pl.DataFrame()


class ShardRunner(Protocol):
    """Runs a function over every shard and returns the results in shard order."""

    def features(self, plan: ShardPlan, settings: Settings) -> list[ShardFeatures]: ...

    def member_events(self, plan: ShardPlan, members: list[str]) -> list[pl.DataFrame]: ...


class InProcessRunner:
    """Shards one after another in this process: bounded memory without any cluster (the CLI)."""

    def features(self, plan: ShardPlan, settings: Settings) -> list[ShardFeatures]:
        return [shard_features(plan, k, settings) for k in range(plan.shards)]

    def member_events(self, plan: ShardPlan, members: list[str]) -> list[pl.DataFrame]:
        return [shard_member_events(plan, k, members) for k in range(plan.shards)]


@dataclass
class ShardedWindow:
    """A window written as shards; per-account work runs shard by shard through ``runner``."""

    plan: ShardPlan
    runner: ShardRunner = field(default_factory=InProcessRunner)
    links: pl.DataFrame | None = None
    owns_directory: bool = True

    def __post_init__(self) -> None:
        # the folder goes with the window even when the caller does not close it (a run that fails)
        self._cleanup = weakref.finalize(self, shutil.rmtree, self.plan.directory, True) if self.owns_directory else None

    @property
    def n_events(self) -> int:
        return self.plan.n_events

    @classmethod
    def export(cls, store: Store, settings: Settings, horizon_hours: float | None,
               runner: ShardRunner | None = None, extent: tuple[int, int] | None = None) -> "ShardedWindow":
        """Write the window's shards into a fresh folder under the scratch folder and plan the run
        (``extent``: :func:`window_extent`, when the caller already counted it)."""
        execution = settings.execution
        parent = Path(execution.scratch_dir or Path(store.path or ".").resolve().parent)
        parent.mkdir(parents=True, exist_ok=True)
        directory = Path(tempfile.mkdtemp(prefix="distillguard-shards-", dir=parent))
        extent = extent if extent is not None else window_extent(store, horizon_hours)
        memory_mb = int(execution.memory_budget_mb * execution.coordinator_share)
        plan = export_window(store, horizon_hours, directory, shard_count(extent[0], execution), memory_limit_mb=memory_mb,
                             extent=extent)
        return cls(plan, runner or InProcessRunner())

    def score(self, accounts: pl.DataFrame | None, settings: Settings) -> pl.DataFrame:
        """Every account's features from its shard, scored against the whole population."""
        from distillguard.detection import score_features

        results = self.runner.features(self.plan, settings)
        self.links = gather([r.links for r in results])
        features = gather([r.features for r in results]).sort("account_id")
        return score_features(features, settings)

    def find_rings(self, scored: pl.DataFrame, accounts: pl.DataFrame | None, settings: Settings,
                   exclude: set[str] | None = None) -> tuple[list[dict], pl.DataFrame]:
        """Rings from the gathered link pairs; groups judged on their members' events, asked of the shards."""
        from distillguard.detection import rings_from_links

        if self.links is None:
            raise RuntimeError("score() gathers the link pairs: call it first")
        links = self.links.unique() if self.links.height else pl.DataFrame(schema={"account_id": pl.String, "value": pl.String})

        def member_events(membership: pl.DataFrame) -> pl.DataFrame:
            members = membership["account_id"].unique().sort().to_list()
            gathered = gather(self.runner.member_events(self.plan, members))
            if gathered.height == 0:
                return pl.DataFrame(schema={"account_id": pl.String, "ts": pl.Datetime("us", "UTC"), "prompt": pl.String})
            return gathered

        return rings_from_links(links, member_events, scored, accounts, settings, exclude=exclude)

    def close(self) -> None:
        """Remove the shards' folder."""
        if self._cleanup is not None:
            self._cleanup()

    def __enter__(self) -> "ShardedWindow":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_window(store: Store, settings: Settings, horizon_hours: float | None, runner: ShardRunner | None = None):
    """The window a detection run reads: in this process below ``in_process_below_events`` events,
    written as shards from there on (run through ``runner``, this process by default)."""
    from distillguard.detection import LoadedWindow, load_window

    if settings.detection.from_rollups:
        from distillguard.rollup_window import RollupWindow

        window = RollupWindow.from_lake(store.lake, horizon_hours)
        if window.n_events == 0 and window_extent(store, horizon_hours)[0] > 0:
            raise RuntimeError("[detection] from_rollups is on but the lake holds no rollups of the window's events: turn "
                               "[lake] rollups on and backfill them (distillguard.features.rollups.rebuild_rollups)")
        return window
    extent = window_extent(store, horizon_hours)
    if extent[0] == 0 or extent[0] < settings.execution.in_process_below_events:
        return LoadedWindow(_utc(load_window(store, horizon_hours), "ts"))
    return ShardedWindow.export(store, settings, horizon_hours, runner, extent=extent)
