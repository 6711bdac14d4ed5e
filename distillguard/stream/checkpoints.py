"""Per-partition checkpoints: the state a consumer needs to carry on with one partition.

One file per (topic, partition) in ``stream.checkpoint_dir`` holds the partition's account
windows, its prompt history, its online model, the first event time of each of its accounts, and ``next_offset``:
the offset of the first record *not* reflected in that state. Files are replaced atomically
(write to a temporary name, then rename), so a crash leaves the previous checkpoint intact.

A consumer that is assigned a partition (at start-up or after a rebalance) loads its
checkpoint and seeks to ``next_offset``: records between that offset and the committed one are
replayed into the state, and the replay writes nothing twice because every DuckDB write is
idempotent (events by event_id, rejects by source and offset, alerts by a deterministic id).
The folder may be shared by several consumers of one group (one host, or a shared volume).
A :class:`CheckpointWriter` writes them on a thread, so the periodic checkpoint does not hold
up the micro-batches (the state is frozen first: window frames are never changed in place, the
model is pickled and the first-seen times copied before the thread starts).

>>> import tempfile, pathlib, polars as pl
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> save_checkpoint(folder, PartitionCheckpoint("api-logs", 3, next_offset=120, window=pl.DataFrame({"a": [1]})))
>>> load_checkpoint(folder, "api-logs", 3).next_offset
120
>>> load_checkpoint(folder, "api-logs", 4) is None
True
"""

from __future__ import annotations

import io
import logging
import os
import pickle
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path

import polars as pl

from distillguard.models.online import OnlineOutlierModel

log = logging.getLogger("distillguard.stream")
FORMAT_VERSION = 1


@dataclass
class PartitionCheckpoint:
    topic: str
    partition: int
    next_offset: int
    window: pl.DataFrame | None = None
    model: OnlineOutlierModel | None = None
    first_seen: dict[str, str] = field(default_factory=dict)
    history: pl.DataFrame | None = None          # the partition's prompt history (distillguard.stream.history)


def checkpoint_path(folder: Path, topic: str, partition: int) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in topic)
    return Path(folder) / f"{safe}-p{partition}.ckpt"


def save_checkpoint(folder: Path, ckpt: PartitionCheckpoint) -> None:
    """Write ``ckpt`` atomically."""
    _write_checkpoint(folder, *_freeze(ckpt))


def _freeze(ckpt: PartitionCheckpoint) -> tuple[PartitionCheckpoint, bytes | None]:
    """``ckpt`` without its model and with a copy of its first-seen map, and the model pickled:
    what a thread may write while the live state goes on changing."""
    return replace(ckpt, model=None, first_seen=dict(ckpt.first_seen)), ckpt.model.dumps() if ckpt.model is not None else None


def _write_checkpoint(folder: Path, ckpt: PartitionCheckpoint, model_bytes: bytes | None) -> None:
    """Write ``ckpt`` atomically, its model as ``model_bytes`` (pickled beforehand; ``ckpt.model`` is not read)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    window = io.BytesIO()
    if ckpt.window is not None:
        ckpt.window.write_parquet(window)
    history = io.BytesIO()
    if ckpt.history is not None:
        ckpt.history.write_parquet(history)
    payload = {
        "version": FORMAT_VERSION, "topic": ckpt.topic, "partition": ckpt.partition, "next_offset": ckpt.next_offset,
        "window": window.getvalue() if ckpt.window is not None else None,
        "model": model_bytes,
        "first_seen": ckpt.first_seen,
        "history": history.getvalue() if ckpt.history is not None else None,
    }
    path = checkpoint_path(folder, ckpt.topic, ckpt.partition)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL))
    tmp.replace(path)


def load_checkpoint(folder: Path, topic: str, partition: int) -> PartitionCheckpoint | None:
    """The partition's checkpoint, or None when there is none (or it cannot be read)."""
    path = checkpoint_path(Path(folder), topic, partition)
    if not path.is_file():
        return None
    try:
        payload = pickle.loads(path.read_bytes())
        if payload.get("version") != FORMAT_VERSION:
            raise ValueError(f"format version {payload.get('version')}, expected {FORMAT_VERSION}")
        window = pl.read_parquet(io.BytesIO(payload["window"])) if payload["window"] else None
        model = OnlineOutlierModel.loads(payload["model"]) if payload["model"] else None
        history = pl.read_parquet(io.BytesIO(payload["history"])) if payload.get("history") else None   # absent in older files
    except Exception as exc:  # a damaged checkpoint means a replay from the committed offset, not a crash
        log.warning("ignoring unreadable checkpoint %s (%s); partition state restarts from the committed offset", path, exc)
        return None
    return PartitionCheckpoint(topic, partition, int(payload["next_offset"]), window, model, dict(payload["first_seen"]), history)


class CheckpointWriter:
    """Saves rounds of checkpoints on a thread, one round at a time and in order.

    :meth:`submit` freezes the state on the caller's thread (pickles each model, copies each
    first-seen map; window and history frames are replaced, never changed in place, by their
    owners) and returns; :meth:`wait` blocks until the round is on disk and raises what the
    thread raised. A hand-over waits, since the partition's next owner reads the file.

    >>> import tempfile, pathlib, polars as pl
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> writer = CheckpointWriter(folder)
    >>> writer.submit([PartitionCheckpoint("api-logs", 0, next_offset=7, window=pl.DataFrame({"a": [1]}))])
    >>> writer.wait()
    >>> load_checkpoint(folder, "api-logs", 0).next_offset
    7
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def submit(self, ckpts: list[PartitionCheckpoint]) -> None:
        self.wait()
        frozen = [_freeze(c) for c in ckpts]
        self._thread = threading.Thread(target=self._write, args=(frozen,), name="checkpoint-writer", daemon=True)
        self._thread.start()

    def _write(self, frozen: list[tuple[PartitionCheckpoint, bytes | None]]) -> None:
        try:
            for ckpt, model_bytes in frozen:
                _write_checkpoint(self.folder, ckpt, model_bytes)
        except BaseException as exc:  # noqa: BLE001 - raised again by wait()
            self._error = exc

    def wait(self) -> None:
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._error is not None:
            error, self._error = self._error, None
            raise error
