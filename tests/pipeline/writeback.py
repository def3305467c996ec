"""Helpers for the write-back tests: a warehouse with a profiles table, a workspace that
sends it to one sandbox product, and ways to count what the product received."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flows.sync import sync_connection
from hub.context import HubContext
from hub.destinations import TableSpec, open_destination
from hub.identity.run import profile_tables
from hub.sandbox import Sandbox
from hub.store import runs

STAMP = datetime(2026, 11, 1, tzinfo=UTC)

WORKSPACE = """\
version: 1
connections:
  out:
    source:
      warehouse: sqlite:///warehouse.db
    destination:
      type: {type}
      config: {config}
    streams:
      {stream}:
        sync_mode: full_refresh
        write_mode: {write_mode}
        mapping: {mapping}
"""


def profile(i: int, email: str | None, **extra: Any) -> dict[str, Any]:
    """A row of the profiles table `crossdock stitch` writes."""
    return {
        "profile_id": f"p{i:05d}",
        "email": email,
        "phone": None,
        "first_name": f"First{i}",
        "last_name": f"Last{i}",
        "city": "Oslo",
        "country": "NO",
        "lifecycle_stage": "lead",
        "record_count": 1,
        "sources": "hubspot",
        "confidence": 1.0,
        "last_updated_at": STAMP,
        "stitched_at": STAMP,
        "run_id": "r",
        **extra,
    }


class WritebackHub:
    def __init__(
        self, root: Path, sandbox: Sandbox, type_: str, config: dict[str, Any], stream: str = "profiles"
    ) -> None:
        self.root, self.sandbox, self.type, self.config = root, sandbox, type_, config
        self.stream = stream
        self.ctx = HubContext(root)
        self.workspace()

    def workspace(self, mapping: str | None = None, write_mode: str = "merge", **config: Any) -> None:
        """Write crossdock.yaml: one connection `out` from the warehouse table to the product."""
        merged = {
            "base_url": self.sandbox.url,
            "backoff_factor": 0.05,
            "max_attempts": 4,
            **self.config,
            **config,
        }
        (self.root / "crossdock.yaml").write_text(
            textwrap.dedent(WORKSPACE).format(
                type=self.type,
                config=_flow_yaml(merged),
                stream=self.stream,
                mapping=mapping or f"warehouse/{self.stream}",
                write_mode=write_mode,
            )
        )

    def profiles(self, rows: list[dict[str, Any]]) -> None:
        """Replace the warehouse's profiles table with these rows."""
        self.table(profile_tables()["profiles"], rows)

    def table(self, spec: TableSpec, rows: list[dict[str, Any]]) -> None:
        """Replace a warehouse table with these rows."""
        db = open_destination("sql", {"url": f"sqlite:///{self.root / 'warehouse.db'}"})
        try:
            db.prepare(spec, "overwrite")
            db.write(spec, "overwrite", rows)
            db.finish(spec, "overwrite")
        finally:
            db.close()

    def sync(self, dry_run: bool = False) -> dict[str, Any]:
        return sync_connection("out", workspace_dir=str(self.root), dry_run=dry_run).to_dict()

    def calls(self, path_part: str) -> int:
        """Requests the sandbox answered on paths containing `path_part`."""
        return sum(n for (path, _), n in self.sandbox.hits.items() if path_part in path)

    def last_run(self) -> str:
        return runs.list_runs(self.ctx.engine, 1, "out")[0].id


def _flow_yaml(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_flow_yaml(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow_yaml(v) for v in value) + "]"
    return f"'{value}'" if isinstance(value, str) else str(value)
