"""One typed configuration object, read from a TOML file and the environment.

Precedence (highest first): explicit keyword arguments, environment variables
(``DISTILLGUARD_<SECTION>__<FIELD>``, e.g. ``DISTILLGUARD_KAFKA__BOOTSTRAP_SERVERS``),
the TOML file named by ``DISTILLGUARD_CONFIG`` (or ``./distillguard.toml`` when it
exists), then the defaults below.

>>> from distillguard.config import Settings
>>> s = Settings(kafka={"bootstrap_servers": "broker:9092"})
>>> s.kafka.bootstrap_servers
'broker:9092'
>>> s.kafka.topic_events
'api-logs'
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from distillguard.models.policy import PolicySettings
from distillguard.models.rings import RingSettings

CONFIG_ENV_VAR = "DISTILLGUARD_CONFIG"
DEFAULT_CONFIG_FILE = "distillguard.toml"


class KafkaSettings(BaseModel):
    """Where the log stream comes from and where alerts and rejects go."""

    bootstrap_servers: str = "127.0.0.1:9092"
    topic_events: str = "api-logs"
    topic_dead_letter: str = "api-logs.dead-letter"
    topic_alerts: str = "distillguard.alerts"
    topic_accounts: str = "accounts"
    group_id: str = "distillguard-stream"
    client_id: str = "distillguard"
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_plain_username: str | None = None
    sasl_plain_password: str | None = None
    ssl_cafile: str | None = None
    max_poll_records: int = 20_000
    poll_timeout_ms: int = 500
    max_poll_interval_ms: int = 300_000
    session_timeout_ms: int = 10_000
    retry_backoff_max_s: float = 30.0

    def client_options(self) -> dict[str, Any]:
        """kafka-python keyword arguments shared by producers and consumers."""
        opts: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap_servers.split(","),
            "client_id": self.client_id,
            "security_protocol": self.security_protocol,
        }
        for key in ("sasl_mechanism", "sasl_plain_username", "sasl_plain_password", "ssl_cafile"):
            value = getattr(self, key)
            if value is not None:
                opts[key] = value
        return opts


class StoreSettings(BaseModel):
    """The DuckDB database analysts query, and the snapshot they read while writers run."""

    db_path: Path = Path("distillguard.duckdb")
    snapshot_path: Path | None = None
    snapshot_interval_s: float = 60.0
    # The stream's DuckDB folds its write-ahead log into the file at this size (DuckDB's default is
    # 16): each fold rewrites the part-filled last row group, so fewer, larger folds halve the
    # stream's DuckDB time; a restart after a crash replays at most this much (104 MB: 0.7 s).
    wal_checkpoint_mb: int = 128
    event_retention_days: int = 30
    prompt_retention_days: int = 30
    # How long `distillguard batch` waits for another process (a batch, the stream, a flow) to let
    # go of the database before it gives up with a one-line "locked" error (DuckDB has one writer).
    lock_timeout_s: float = 60.0
    # A `runs` row still `running` this long after it started is closed as `failed` by the next
    # writer when its process cannot be checked (another host, or no pid recorded); a run whose
    # process is known to be gone is closed at once. Keep it above the longest run.
    stale_run_after_s: float = 21_600.0


class DetectionSettings(BaseModel):
    """Batch detection: the outlier models' setup and the robustness report's switches.

    Every threshold that judges an account lives in ``policy`` (:class:`PolicySettings`), every
    ring threshold in ``rings`` (:class:`RingSettings`): batch and stream read the same ones.
    """

    random_state: int = 7
    # Accounts with fewer requests than this are not fed to the outlier models (their shares are noise).
    anomaly_min_requests: int = 20
    # Evidence families set to zero (the robustness report's leave-one-family-out rows); see
    # distillguard.models.policy.FAMILIES. Empty in production.
    ablate_families: list[str] = Field(default_factory=list)
    # Batch detection and the re-detect flow read the lake's per-account rollups (features/rollups.py,
    # written when ``[lake] rollups`` is on) instead of raw events: features, scores and rings from
    # counts, sums and sketches (distillguard/rollup_window.py). The window is whole hours: from the
    # hour of (newest event - horizon) on. Needs rollups written since the window's first hour.
    from_rollups: bool = False


class StreamSettings(BaseModel):
    """The always-on consumer: micro-batches, window state and alerting."""

    checkpoint_dir: Path = Path("distillguard-checkpoints")
    window_short_s: int = 300
    window_long_s: int = 3600
    prompt_history_s: int = 172_800    # prompts an account sent up to this long ago count as repeats (daily runs)
    alert_cooldown_s: int = 3600
    score_every_s: int = 60            # event-time slice after which touched accounts are re-scored
    # Most records one poll hands to one micro-batch. Live traffic fills far smaller batches (a poll
    # takes what arrived); a backlog drains about 1.6x faster in batches of 20k than of 5k (window
    # merges, inserts and Polars' per-query costs are paid per batch).
    max_batch_records: int = 20_000
    # A replica writes its alerts, dead letters and offsets audit into an outbox of Parquet files
    # beside the event lake (no lock) and folds every replica's outbox into DuckDB at most this often,
    # when it can take the file without waiting (distillguard/stream/outbox.py). Analysts see an alert
    # in DuckDB's `alerts` this long after it is raised, longer while another process (a batch run)
    # holds the file; the alerts topic has it at once. `distillguard stream` folds what is left at a
    # clean exit, and every snapshot publication folds first.
    outbox_fold_every_s: float = 5.0


class PrivacySettings(BaseModel):
    """What analysts see of personal data (see :mod:`distillguard.privacy`)."""

    hash_identifiers: bool = False
    hash_key: str = ""

    @model_validator(mode="after")
    def _key_when_hashing(self) -> "PrivacySettings":
        from distillguard.privacy import require_key

        require_key(self.hash_identifiers, self.hash_key)
        return self


class IngestSettings(BaseModel):
    """What the reader accepts from log files and Kafka (see :mod:`distillguard.events`), and from
    account files (:func:`distillguard.load.read_accounts`: the same range for ``created_at``)."""

    # Events stamped before this instant are rejected (reason `timestamp_out_of_range`); a time
    # without a zone is UTC. Year 1 or 9999 stamps otherwise reach the features and the queries.
    ts_min: datetime = datetime(2000, 1, 1, tzinfo=timezone.utc)
    # Events stamped more than this many seconds after the moment they are read are rejected too
    # (a gateway clock a day fast is a broken clock, not a future request).
    ts_max_ahead_s: float = 86_400.0


class ExecutionSettings(BaseModel):
    """Sharded batch detection (:mod:`distillguard.sharding`): how a window is split and where shards run.

    A window of at least ``in_process_below_events`` events is split by account hash into shards
    that each hold only their accounts' events; the batch flow maps them over a Dask cluster through
    Prefect (a local cluster unless ``scheduler_address`` names one), the CLI over this process.
    """

    # Dask scheduler of an existing cluster (``tcp://scheduler:8786``); None: the flow starts a local
    # cluster of ``n_workers`` worker processes for the run and stops it afterwards.
    scheduler_address: str | None = None
    n_workers: int = 2
    threads_per_worker: int = 1
    # Peak memory the whole detection may use (this process, its DuckDB, the local workers), in MiB.
    # Shards are made small enough that a worker's share of it holds one shard at a time.
    memory_budget_mb: int = 6144
    # Fewest shards a sharded window is split into (more when the budget asks for it).
    min_shards: int = 4
    # Peak memory a shard's feature computation needs per event it holds (prompts, their derived text
    # columns, the sort and the group-by), measured on simulated traffic: sizes the shards.
    shard_bytes_per_event: int = 2_000
    # Part of the budget the coordinating process keeps for itself and its DuckDB (the window's export,
    # the gathered one-row-per-account features, the models and the ring graph).
    coordinator_share: float = 0.3
    # Windows with fewer events are scored in one process without writing shards; 0 shards every window.
    # Sharding bounds memory, and on this process (the CLI) costs time: measured on simulated traffic
    # (benchmarks/README.md, batch_throughput.py), 1.0M events took 17 s at 2.9 GB peak in one process and
    # 19-21 s at 1.9 GB in shards; 1.7M events 25 s at 4.2 GB and 28 s at 2.2 GB. One process holds about
    # 2.4 kB per event: 1.5M events stay within the default budget with a third of it spare.
    in_process_below_events: int = 1_500_000
    # Where a run writes its window's shards (Parquet, one folder per shard), removed after the run.
    # Every worker must read it: a shared file system for a remote cluster. None: next to the database.
    scratch_dir: Path | None = None


class LakeSettings(BaseModel):
    """The event lake (:mod:`distillguard.lake`): hive-partitioned Parquet that every writer appends to.

    >>> LakeSettings().uri is None      # beside the database: <db folder>/<db stem>.lake
    True
    """

    # Where valid events land: a folder, or an object-store URI such as ``s3://bucket/prefix``.
    # None: ``<db folder>/<db stem>.lake`` beside the DuckDB file, so a first run needs no server.
    uri: str | None = None
    # Options of the object store's file system (pyarrow ``S3FileSystem`` keywords, e.g.
    # ``region``, ``endpoint_override``, ``access_key``/``secret_key``; credentials otherwise come
    # from the usual AWS environment variables or instance profile). Unused for a local folder.
    storage_options: dict[str, str] = Field(default_factory=dict)
    # A writer looks for the event_ids it is about to write in the partitions this many hours of
    # event time before each event (and its own hour): repeats found there are not written again.
    # An older repeat is still shown once by the `events` view and removed by compaction.
    dedupe_lookback_hours: float = 72.0
    # The maintenance flow rewrites a partition into one file once it holds at least this many
    # files (or when retention must change it).
    compact_min_files: int = 4
    # Every writer (``load``, the stream's micro-batches) also writes per-account hourly rollups of
    # the events it adds (``rollups/<table>/date=.../hour=...`` under the lake; features/rollups.py):
    # counts, sums and sketches the features are made of, read back by features_from_rollups.
    # Off by default until batch detection reads them: they cost ~0.8 s per 100k events to build.
    rollups: bool = False


class Settings(BaseSettings):
    """Everything distillguard reads at start-up."""

    model_config = SettingsConfigDict(
        env_prefix="DISTILLGUARD_",
        env_nested_delimiter="__",
        extra="ignore",
    )

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    detection: DetectionSettings = Field(default_factory=DetectionSettings)
    policy: PolicySettings = Field(default_factory=PolicySettings)
    rings: RingSettings = Field(default_factory=RingSettings)
    stream: StreamSettings = Field(default_factory=StreamSettings)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    lake: LakeSettings = Field(default_factory=LakeSettings)
    execution: ExecutionSettings = Field(default_factory=ExecutionSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = config_file_path()
        if config_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config_file))
        return tuple(sources)


def config_file_path() -> Path | None:
    """The TOML file to read: ``$DISTILLGUARD_CONFIG`` or ``./distillguard.toml``."""
    named = os.environ.get(CONFIG_ENV_VAR)
    if named:
        path = Path(named)
        if not path.is_file():
            raise FileNotFoundError(f"{CONFIG_ENV_VAR}={named} does not name a file")
        return path
    default = Path(DEFAULT_CONFIG_FILE)
    return default if default.is_file() else None


def load_settings(**overrides: Any) -> Settings:
    """Read the configuration; keyword overrides win over file and environment."""
    return Settings(**overrides)
