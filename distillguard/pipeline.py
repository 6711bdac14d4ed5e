"""The batch pipeline as plain functions: load -> features -> models -> rings -> store.

Flows (``flows/``) and the CLI are thin wrappers over :func:`run_batch` and :func:`detect`.
"""

from __future__ import annotations

import importlib
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from distillguard.config import Settings, load_settings
from distillguard.detection import DetectionResult
from distillguard.load import LoadReport, load_accounts, load_logs
from distillguard.runs import recorded_run
from distillguard.session import StoreSession
from distillguard.store import Store


@dataclass
class BatchResult:
    run_id: str
    db_path: Path
    load: LoadReport = field(default_factory=LoadReport)
    detection: DetectionResult = field(default_factory=DetectionResult)
    accounts_loaded: int = 0
    accounts_rejected: int = 0

    def summary(self) -> str:
        return (
            f"run {self.run_id}: {self.load.summary()}; {self.detection.accounts_scored:,} accounts scored, "
            f"{self.detection.flagged:,} flagged, {self.detection.rings:,} rings -> {self.db_path}"
        )


def import_in_background(module: str) -> threading.Thread:
    """Import ``module`` on a thread. The outlier models' libraries (PyOD, scikit-learn, SciPy,
    numba) take seconds to import; loading the logs waits mostly in Polars and DuckDB, outside
    the GIL, so the import runs beside it for free. A later ``import`` waits for this one."""
    thread = threading.Thread(target=importlib.import_module, args=(module,), name=f"import {module}", daemon=True)
    thread.start()
    return thread


def detect(store: Store, settings: Settings | None = None, *, run_id: str | None = None, show_progress: bool = True) -> DetectionResult:
    """Score every account over the stored events and replace the current flags and rings."""
    from distillguard.detection import run_detection

    settings = settings or load_settings()
    return run_detection(store, settings, run_id=run_id or uuid.uuid4().hex[:12], show_progress=show_progress)


def run_batch(
    logs: Sequence[Path | str],
    db: Path | str,
    *,
    accounts: Path | str | None = None,
    settings: Settings | None = None,
    show_progress: bool = True,
) -> BatchResult:
    """The contract's ``distillguard batch``: load the files, detect, write results to ``db``,
    then publish the analyst snapshot (:mod:`distillguard.snapshot`).

    ``settings`` (default: the configuration) rule every stage: the reader's accepted time range
    (``ingest``), how long the database is waited for and when a ``running`` row is stale
    (``store``), detection."""
    settings = settings or load_settings()
    import_in_background("distillguard.models.ensemble")
    session = StoreSession(settings, db)
    with session.writing() as store:
        with recorded_run(store, "batch") as counts:
            result = BatchResult(run_id=counts["run_id"], db_path=Path(db))
            result.load = load_logs(logs, store, show_progress=show_progress, ingest=settings.ingest)
            if accounts is not None:
                result.accounts_loaded, result.accounts_rejected = load_accounts(accounts, store, ingest=settings.ingest)
            result.detection = detect(store, settings, run_id=result.run_id, show_progress=show_progress)
            counts.update(records_read=result.load.records, accepted=result.load.accepted, inserted=result.load.inserted,
                          rejected=result.load.rejected, duplicates=result.load.duplicates,
                          flagged=result.detection.flagged, rings=result.detection.rings)
        session.maybe_publish_snapshot(store, force=True)       # analysts see the new flags at once
    return result
