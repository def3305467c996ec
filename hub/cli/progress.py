"""Live progress (records and records/s per stream, or per phase of a stitch) when stdout is a
terminal."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.progress import Progress, TaskID, TextColumn, TimeElapsedColumn

from hub.cli.render import console
from hub.context import ProgressFn
from hub.pipeline import StreamInfo

__all__ = ["live_progress"]


@contextmanager
def live_progress(enabled: bool) -> Iterator[ProgressFn | None]:
    if not enabled or not console.is_terminal:
        yield None
        return
    tasks: dict[str, tuple[TaskID, float]] = {}
    lock = threading.Lock()  # streams run concurrently: their threads call `update`
    with Progress(
        TextColumn("{task.description}"),
        TextColumn("{task.fields[read]:>10,} records"),
        TextColumn("{task.fields[rate]:>8,.0f} records/s"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:

        def update(info: StreamInfo) -> None:
            with lock:
                if info.stream not in tasks:
                    tasks[info.stream] = (
                        progress.add_task(info.stream, read=0, rate=0.0),
                        time.perf_counter(),
                    )
                task_id, started = tasks[info.stream]
            elapsed = max(time.perf_counter() - started, 1e-6)
            progress.update(task_id, read=info.read, rate=info.read / elapsed)

        yield update
