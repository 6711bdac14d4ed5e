"""Sharded detection on Dask through Prefect: each shard's per-account work is a Prefect task run
on a Dask worker (``prefect-dask``'s :class:`~prefect_dask.DaskTaskRunner`).

A flow that detects over a window of ``[execution] in_process_below_events`` events or more
writes the window's shards (:mod:`distillguard.sharding`) and maps them over a Dask cluster: the
one at ``[execution] scheduler_address``, or a local cluster of ``n_workers`` worker processes
started for the run. The flow's own process holds the store and does the population-wide steps
on what the shards send back (one feature row per account, the ring link pairs, the ring
members' minutes and prompt fingerprints).

>>> from distillguard.config import ExecutionSettings
>>> dask_task_runner(ExecutionSettings(scheduler_address="tcp://scheduler:8786")).address
'tcp://scheduler:8786'
>>> dask_task_runner(ExecutionSettings(n_workers=3)).cluster_kwargs["n_workers"]
3
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Any, Iterator

import polars as pl
from prefect import task, unmapped
from prefect.cache_policies import NO_CACHE

from distillguard.config import ExecutionSettings, Settings
from distillguard.sharding import ShardFeatures, ShardPlan, shard_features, shard_member_events

#: Task options of a shard's work: its inputs are a plan and settings, nothing worth caching by.
SHARD_TASK_OPTIONS: dict[str, Any] = {"cache_policy": NO_CACHE, "persist_result": False}


@task(name="features of a shard", **SHARD_TASK_OPTIONS)
def shard_features_task(plan: ShardPlan, shard: int, settings: Settings) -> ShardFeatures:
    """One shard's feature rows and ring link pairs (:func:`distillguard.sharding.shard_features`)."""
    return shard_features(plan, shard, settings)


@task(name="ring members' events of a shard", **SHARD_TASK_OPTIONS)
def shard_member_events_task(plan: ShardPlan, shard: int, members: list[str]) -> pl.DataFrame:
    """What the ring evidence reads of one shard's ring-group members (:func:`distillguard.sharding.shard_member_events`)."""
    return shard_member_events(plan, shard, members)


def worker_memory_limit(execution: ExecutionSettings) -> int:
    """Bytes a local worker may hold: the workers' share of the memory budget, split between them.

    >>> worker_memory_limit(ExecutionSettings(memory_budget_mb=6000, coordinator_share=0.25, n_workers=2)) // 2**20
    2250
    """
    return int(execution.memory_budget_mb * 2**20 * (1.0 - execution.coordinator_share) / max(1, execution.n_workers))


def dask_task_runner(execution: ExecutionSettings):
    """The Dask task runner the configuration asks for: the cluster at ``scheduler_address``, or a
    local cluster of ``n_workers`` processes, each limited to its part of the memory budget."""
    from prefect_dask import DaskTaskRunner

    if execution.scheduler_address:
        return DaskTaskRunner(address=execution.scheduler_address)
    return DaskTaskRunner(cluster_kwargs={
        "n_workers": execution.n_workers, "threads_per_worker": execution.threads_per_worker, "processes": True,
        "memory_limit": worker_memory_limit(execution), "dashboard_address": None,
    })


class PrefectShardRunner:
    """Maps the shards over a started Prefect task runner (results in shard order)."""

    def __init__(self, task_runner) -> None:
        self.task_runner = task_runner

    def features(self, plan: ShardPlan, settings: Settings) -> list[ShardFeatures]:
        futures = self.task_runner.map(
            shard_features_task, {"plan": unmapped(plan), "shard": list(range(plan.shards)), "settings": unmapped(settings)}
        )
        return [f.result() for f in futures]

    def member_events(self, plan: ShardPlan, members: list[str]) -> list[pl.DataFrame]:
        futures = self.task_runner.map(
            shard_member_events_task, {"plan": unmapped(plan), "shard": list(range(plan.shards)), "members": unmapped(members)}
        )
        return [f.result() for f in futures]


@contextmanager
def local_workers_report_here() -> Iterator[None]:
    """Local worker processes inherit this process's environment: while they start, it names the
    Prefect API this flow reports to (a temporary server of the flow's own included), or each
    worker would start a temporary server of its own. Remote workers need ``PREFECT_API_URL`` set
    where they run."""
    from prefect.client.orchestration import get_client

    if os.environ.get("PREFECT_API_URL"):
        yield
        return
    os.environ["PREFECT_API_URL"] = str(get_client(sync_client=True).api_url)
    try:
        yield
    finally:
        os.environ.pop("PREFECT_API_URL", None)


@contextmanager
def dask_shard_runner(execution: ExecutionSettings) -> Iterator[PrefectShardRunner]:
    """A :class:`PrefectShardRunner` on the configured Dask cluster, for the duration of the block
    (a local cluster is started and stopped with it). Call it inside a flow run."""
    with local_workers_report_here(), dask_task_runner(execution) as runner:
        yield PrefectShardRunner(runner)
