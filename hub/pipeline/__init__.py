"""One sync, step by step: plan -> read -> map -> write -> checkpoint."""

from hub.pipeline.info import RunInfo, StreamInfo
from hub.pipeline.plan import StreamJob, plan_stream
from hub.pipeline.run import (
    begin_run,
    end_run,
    failed_stream_info,
    run_status,
    validate_connection,
)
from hub.pipeline.stream import sync_stream

__all__ = [
    "RunInfo",
    "StreamInfo",
    "StreamJob",
    "plan_stream",
    "sync_stream",
    "begin_run",
    "end_run",
    "run_status",
    "failed_stream_info",
    "validate_connection",
]
