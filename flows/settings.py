"""The configuration a flow run works with: ``Settings`` from file and environment, plus its parameters."""

from __future__ import annotations

from pathlib import Path

from distillguard.config import Settings, load_settings


def flow_settings(db: str | Path | None = None) -> Settings:
    """Read the settings in the process that runs the flow; ``db`` overrides ``store.db_path``.

    >>> flow_settings("/data/dg.duckdb").store.db_path
    PosixPath('/data/dg.duckdb')
    """
    settings = load_settings()
    if db is not None:
        settings = settings.model_copy(update={"store": settings.store.model_copy(update={"db_path": Path(db)})})
    return settings
