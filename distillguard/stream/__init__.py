"""The streaming path: Kafka micro-batches -> validation -> window features -> online scoring -> alerts."""

from distillguard.stream.consumer import StreamReport, run_stream

__all__ = ["run_stream", "StreamReport"]
