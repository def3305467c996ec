"""`stitch_workspace` with capped blocking: the summary says what each rule did, and an
incremental run after a group crossed the cap equals a full run with the same model."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from hub.canonical import get_entity
from hub.context import HubContext
from hub.destinations import TableSpec, open_destination
from hub.identity import IdentityConfig, MatchModel, stitch
from hub.identity.run import stitch_workspace
from hub.identity.state import IdentityAssignment, IdentityLinkRow, IdentityModelRow

WORKSPACE = """\
version: 1
connections:
  support:
    source: {manifest: fake.yaml}
    destination: {type: sql, config: {url: "sqlite:///warehouse.db"}}
    streams:
      users: {mapping: fake/users, sync_mode: full_refresh}
identity:
  identifiers: []
  match:
    max_block_size: 3
    review_below: 0.000001  # every pair scored is kept: what a wrong reuse would show
    veto_below: 0.0
    fields:
      - {field: first_name, compare: name}
      - {field: last_name, compare: name}
    blocking: [[last_name]]
"""


MAPPING = """\
source: fake
stream: users
entity: contact
fields:
  source: {const: fake}
  source_id: {path: source_id}
  first_name: {path: first_name}
  last_name: {path: last_name}
  updated_at: {path: updated_at}
"""
UPDATED = datetime(2026, 1, 1, 12, tzinfo=UTC)


def write_users(url: str, rows: list[dict[str, Any]]) -> None:
    spec = TableSpec(
        "support_users", {f.name: f.type for f in get_entity("contact").fields}, key=("source", "source_id")
    )
    dest = open_destination("sql", {"url": url})
    try:
        dest.prepare(spec, "merge")
        dest.write(spec, "merge", [{f: row.get(f) for f in spec.columns} for row in rows])
    finally:
        dest.close()


def person(i: int, first: str, last: str) -> dict[str, Any]:
    return {
        "source": "fake",
        "source_id": f"u{i}",
        "first_name": first,
        "last_name": last,
        "updated_at": UPDATED,
    }


def test_capped_rule_in_the_summary_and_incremental_equals_full(tmp_path: Path) -> None:
    (tmp_path / "fake.yaml").write_text(
        "version: 6.0.0\ntype: DeclarativeSource\nstreams:\n  - name: users\n"
    )
    (tmp_path / "mappings" / "fake").mkdir(parents=True)
    (tmp_path / "mappings" / "fake" / "users.yaml").write_text(MAPPING)
    (tmp_path / "crossdock.yaml").write_text(textwrap.dedent(WORKSPACE))
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    ctx = HubContext(tmp_path)
    kings = [person(0, "Ada", "King"), person(1, "Ana", "King"), person(2, "Ada", "King")]
    others = [person(i, f"P{i}", f"Surname{i % 4}") for i in range(3, 40)]
    write_users(url, kings + others)
    first = stitch_workspace(ctx)
    assert first.mode == "full"
    with Session(ctx.engine) as session:
        assert session.get(IdentityLinkRow, ("fake:u0", "fake:u1")) is not None  # Ada and Ana King
    (rule,) = first.blocking
    assert rule["rule"] == "last_name" and rule["capped_blocks"] > 0  # the surnames of `others`

    # A fourth King: the group of three is over the cap now and split by first name, though
    # none of the three changed. The incremental run must see that their pairs did.
    write_users(url, [person(40, "Bob", "King")])
    second = stitch_workspace(ctx)
    assert second.mode == "incremental"
    with Session(ctx.engine) as session:
        model = MatchModel.from_json(session.get(IdentityModelRow, 1).model)  # type: ignore[union-attr]
        stored = {
            (r.record_a, r.record_b): round(r.probability, 9) for r in session.exec(select(IdentityLinkRow))
        }
        fingerprints = {a.record_key: a.fingerprint for a in session.exec(select(IdentityAssignment))}
    assert fingerprints["fake:u0"].endswith("|1")  # blocking level 1: split by one further key
    assert "|" not in fingerprints["fake:u3"] or fingerprints["fake:u3"].endswith(("|1", "|-1"))
    config = IdentityConfig.model_validate(
        ctx.workspace().identity.model_dump(exclude={"destination", "schedule"})
    )
    full = stitch([*kings, *others, person(40, "Bob", "King")], config, model=model)
    assert stored == {(x.record_a, x.record_b): round(x.probability, 9) for x in full.scored_links()}
    assert ("fake:u0", "fake:u1") not in stored  # Ada and Ana King: no longer in one group
    assert second.blocking[0]["capped_blocks"] == first.blocking[0]["capped_blocks"] + 1
