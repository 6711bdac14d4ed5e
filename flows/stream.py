"""The ``stream`` flow: one bounded micro-batch run of the Kafka consumer.

Scheduled every minute it gives a single machine near-real-time alerts without a daemon;
where the consumer runs always-on (``docker/compose.yaml``) this flow is not deployed.
"""

from __future__ import annotations

import dataclasses

from prefect import flow, get_run_logger, task

from distillguard.flows.retry import IO_TASK_OPTIONS
from distillguard.flows.settings import flow_settings
from distillguard.flows.stages import wait_for_broker


@task(name="reach the broker")
def reach_broker(bootstrap_servers: str, budget_s: float) -> str:
    """Fail early, naming the servers, when no broker answers (retries with backoff inside)."""
    server = wait_for_broker(bootstrap_servers, budget_s=budget_s)
    get_run_logger().info("Kafka broker %s reachable", server)
    return server


@task(name="consume a micro-batch run", **IO_TASK_OPTIONS)
def consume(db: str | None, max_seconds: float, stop_when_idle_s: float) -> dict:
    from distillguard.stream import run_stream

    result = run_stream(flow_settings(db), max_seconds=max_seconds, stop_when_idle_s=stop_when_idle_s)
    summary = result.summary() if hasattr(result, "summary") else _as_dict(result)
    get_run_logger().info("stream run: %s", summary)
    return summary


def _as_dict(result: object) -> dict:
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        return dataclasses.asdict(result)
    if isinstance(result, dict):
        return result
    return {"result": repr(result)}


@flow(name="stream", description="A bounded run of the Kafka consumer: events -> online models -> alerts.")
def stream_flow(db: str | None = None, max_seconds: float = 50.0, stop_when_idle_s: float = 10.0) -> dict:
    settings = flow_settings(db)
    reach_broker(settings.kafka.bootstrap_servers, settings.kafka.retry_backoff_max_s)
    return consume(db, max_seconds, stop_when_idle_s)
