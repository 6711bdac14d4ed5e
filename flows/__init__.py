"""Prefect flows: thin orchestration over the plain functions of the pipeline.

======================  ==========================================================
flow                    does
======================  ==========================================================
``batch``               new log files (or stored events) -> detection -> DuckDB
``rings``               re-cluster over 7 days for low-and-slow rings
``calibrate``           refit models/thresholds on recent clean traffic
``maintenance``         retention of events and prompts, DuckDB CHECKPOINT
``stream``              one bounded micro-batch run of the Kafka consumer
======================  ==========================================================

Each is a plain function call too (``batch_flow(logs=["traffic/"], db="dg.duckdb")``), which
runs without any Prefect server. ``distillguard serve`` schedules them
(:mod:`distillguard.flows.deployments`).
"""

from distillguard.flows.batch import batch_flow
from distillguard.flows.calibrate import calibrate_flow
from distillguard.flows.maintenance import maintenance_flow
from distillguard.flows.rings import rings_flow
from distillguard.flows.stream import stream_flow

__all__ = ["batch_flow", "calibrate_flow", "maintenance_flow", "rings_flow", "stream_flow"]
