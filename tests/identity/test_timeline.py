"""Events from other systems land on the right profile's timeline (stitch_workspace, no Prefect).

The support system's users are contacts; its tickets, and a shop's orders, are
events naming their person by contact_id, email or phone.
"""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hub.canonical import get_entity
from hub.context import HubContext
from hub.destinations import TableSpec, open_destination
from hub.identity.run import profile_tables, stitch_workspace
from hub.pipeline.info import StreamInfo

MANIFEST = """
version: 6.0.0
type: DeclarativeSource
streams:
  - name: users
  - name: tickets
  - name: orders
"""

WORKSPACE = """\
version: 1
connections:
  support:
    source: {manifest: fake.yaml}
    destination: {type: sql, config: {url: "sqlite:///warehouse.db"}}
    streams:
      users: {mapping: fake/users, sync_mode: full_refresh}
      tickets: {mapping: fake/tickets, sync_mode: full_refresh}
      orders: {mapping: fake/orders, sync_mode: full_refresh}
"""


def mapping(stream: str, entity: str, fields: list[str]) -> str:
    lines = [f"source: fake\nstream: {stream}\nentity: {entity}\nfields:\n  source: {{const: fake}}"]
    lines += [f"  {f}: {{path: {f}}}" for f in fields]
    return "\n".join(lines) + "\n"


def write_table(url: str, table: str, entity: str, rows: list[dict[str, Any]]) -> None:
    spec = TableSpec(table, {f.name: f.type for f in get_entity(entity).fields}, key=("source", "source_id"))
    dest = open_destination("sql", {"url": url})
    try:
        dest.prepare(spec, "merge")
        dest.write(spec, "merge", [{f: row.get(f) for f in spec.columns} for row in rows])
    finally:
        dest.close()


def rows(url: str, table: str) -> list[dict[str, Any]]:
    dest = open_destination("sql", {"url": url})
    try:
        return dest.read_rows(table)
    finally:
        dest.close()


def at(day: int) -> datetime:
    return datetime(2026, 1, day, 12, tzinfo=UTC)


def test_tickets_and_orders_join_the_timeline_of_their_person(tmp_path: Path) -> None:
    (tmp_path / "fake.yaml").write_text(MANIFEST)
    (tmp_path / "mappings" / "fake").mkdir(parents=True)
    for stream, entity, fields in (
        ("users", "contact", ["source_id", "email", "phone", "first_name", "last_name", "updated_at"]),
        ("tickets", "ticket", ["source_id", "contact_id", "email", "subject", "created_at", "updated_at"]),
        ("orders", "order", ["source_id", "email", "phone", "total", "created_at", "updated_at"]),
    ):
        (tmp_path / "mappings" / "fake" / f"{stream}.yaml").write_text(mapping(stream, entity, fields))
    (tmp_path / "crossdock.yaml").write_text(textwrap.dedent(WORKSPACE))
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    write_table(
        url,
        "support_users",
        "contact",
        [
            {
                "source": "fake",
                "source_id": "u1",
                "email": "ada@example.org",
                "first_name": "Ada",
                "last_name": "Lovelace",
                "updated_at": at(1),
            },
            {
                "source": "fake",
                "source_id": "u2",
                "email": "bob@example.org",
                "phone": "+14155550199",
                "first_name": "Bob",
                "last_name": "Byron",
                "updated_at": at(1),
            },
        ],
    )
    write_table(
        url,
        "support_tickets",
        "ticket",
        [
            # by contact_id, though the email on the ticket is someone else's
            {
                "source": "fake",
                "source_id": "t1",
                "contact_id": "u1",
                "email": "bob@example.org",
                "subject": "Engine jammed",
                "created_at": at(2),
                "updated_at": at(3),
            },
            # by email, spelled differently
            {
                "source": "fake",
                "source_id": "t2",
                "email": " Bob+help@Example.org",
                "created_at": at(4),
                "updated_at": at(4),
            },
            # a role address names no one; an unknown address neither
            {"source": "fake", "source_id": "t3", "email": "info@example.org", "updated_at": at(5)},
            {"source": "fake", "source_id": "t4", "email": "nobody@example.org", "updated_at": at(5)},
        ],
    )
    write_table(
        url,
        "support_orders",
        "order",
        [
            {
                "source": "fake",
                "source_id": "o1",
                "phone": "+14155550199",
                "total": 12.5,
                "created_at": at(6),
                "updated_at": at(6),
            },
        ],
    )

    progress: list[StreamInfo] = []  # the CLI's progress line (issue 19: long steps are not silent)
    summary = stitch_workspace(HubContext(tmp_path, progress=progress.append))
    assert summary.profiles == 2
    last = {info.stream: info.read for info in progress}
    assert last["stitch: read contacts"] == 2, last
    assert last["stitch: write profile tables"] == sum(len(rows(url, t)) for t in profile_tables()), last
    assert (summary.events, summary.events_unattached) == (3, 2)

    dest = open_destination("sql", {"url": url})
    try:
        owner = {r["record_key"]: r["profile_id"] for r in dest.read_rows("profile_records")}
        timeline = dest.read_rows("profile_timeline")
    finally:
        dest.close()
    ada, bob = owner["fake:u1"], owner["fake:u2"]
    by_profile: dict[str, list[tuple[str, str]]] = {}
    for e in sorted(timeline, key=lambda e: str(e["occurred_at"])):
        by_profile.setdefault(e["profile_id"], []).append((e["event"], e["record_key"]))
    assert by_profile[ada] == [
        ("contact updated", "fake:u1"),
        ("ticket created", "fake:ticket:t1"),
        ("ticket updated", "fake:ticket:t1"),
    ]
    assert by_profile[bob] == [
        ("contact updated", "fake:u2"),
        ("ticket created", "fake:ticket:t2"),
        ("order created", "fake:order:o1"),
    ]
