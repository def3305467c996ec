"""Retention deletes exactly the expired rows, on SQLite and PostgreSQL; a bad rule is a
load-time error naming crossdock.yaml's line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from hub.context import HubContext
from hub.destinations import TableSpec, open_destination
from hub.errors import ConfigError
from hub.governance.retention import run_retention
from hub.store.models import DeadLetter

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)

WORKSPACE = """\
version: 1
connections:
  email:
    source:
      connector: mailchimp
      config: {{credentials: {{apikey: k-us1}}, start_date: '2020-01-01T00:00:00Z'}}
    destination: {{type: sql, config: {{url: '{url}'}}}}
    streams:
      email_activity: {{mapping: mailchimp/email_activity}}
      list_members: {{mapping: mailchimp/list_members}}
governance:
  retention:
{retention}
"""

RULES = "    entities: {email_event: 400}\n    dead_letters: 30"
EVENTS = TableSpec(
    "email_email_activity",
    {"source": "string", "source_id": "string", "email": "string", "occurred_at": "datetime"},
    key=("source", "source_id"),
)
MEMBERS = TableSpec(
    "email_list_members",
    {"source": "string", "source_id": "string", "email": "string", "updated_at": "datetime"},
    key=("source", "source_id"),
)


def _hub(root: Path, url: str, retention: str = RULES) -> HubContext:
    (root / "crossdock.yaml").write_text(WORKSPACE.format(url=url, retention=retention))
    (root / "mappings").symlink_to(Path(__file__).parents[2] / "mappings")
    (root / "connectors").symlink_to(Path(__file__).parents[2] / "connectors")
    return HubContext(root)


def _fill(url: str) -> None:
    db = open_destination("sql", {"url": url})
    try:
        for spec, field in ((EVENTS, "occurred_at"), (MEMBERS, "updated_at")):
            rows = [
                {
                    "source": "mailchimp",
                    "source_id": str(d),
                    "email": f"p{d}@example.com",
                    field: NOW - timedelta(days=d),
                }
                for d in (1, 399, 401, 800)
            ]
            db.prepare(spec, "merge")
            db.write(spec, "merge", rows)
            db.finish(spec, "merge")
    finally:
        db.close()


def _ids(url: str, table: str) -> list[str]:
    db = open_destination("sql", {"url": url})
    try:
        return sorted(r["source_id"] for r in db.read_rows(table))
    finally:
        db.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("pg_schema_url"))
    return f"sqlite:///{tmp_path / 'warehouse.db'}"


def test_retention_deletes_exactly_the_expired_rows(
    tmp_path: Path, warehouse: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CROSSDOCK_STORE_URL", raising=False)
    ctx = _hub(tmp_path, warehouse)
    _fill(warehouse)
    with ctx.engine.begin() as conn:
        for days in (10, 45):
            conn.execute(
                DeadLetter.__table__.insert(),  # type: ignore[attr-defined]
                {"run_id": "r", "connection": "email", "stream": "s", "reason": "x", "record": {},
                 "created_at": NOW - timedelta(days=days)},
            )  # fmt: skip

    dry = run_retention(ctx, dry_run=True, now=NOW)
    assert dry.deleted == {"warehouse:email_email_activity": 2, "dead_letters": 1}
    assert _ids(warehouse, "email_email_activity") == ["1", "399", "401", "800"]  # a dry run deletes nothing

    done = run_retention(ctx, now=NOW)
    assert done.deleted == dry.deleted and done.total == 3
    assert _ids(warehouse, "email_email_activity") == ["1", "399"]
    # list members map to `contact`, which has no rule: every row stays
    assert _ids(warehouse, "email_list_members") == ["1", "399", "401", "800"]
    with ctx.engine.connect() as conn:
        left = conn.execute(DeadLetter.__table__.select()).all()  # type: ignore[attr-defined]
        audit = " ".join(str(r) for r in conn.execute(text("SELECT * FROM audit_events")))
    assert len(left) == 1  # the 10-day-old one
    assert "retention.run" in audit and "@example.com" not in audit  # counts, never values


@pytest.mark.parametrize(
    ("retention", "line", "says"),
    [
        ("    entities: {email_events: 400}", 13, "unknown entity `email_events`"),
        ("    streams: {email.nope: 30}", 13, "`email.nope` is not a stream"),
        ("    entities: {email_event: {days: 30, field: email}}", 13, "no datetime field `email`"),
        ("    entities: {email_event: 0}", 13, "greater than or equal to 1"),
    ],
)
def test_a_bad_rule_names_its_line(tmp_path: Path, retention: str, line: int, says: str) -> None:
    ctx = _hub(tmp_path, f"sqlite:///{tmp_path / 'w.db'}", retention)
    with pytest.raises(ConfigError) as err:
        ctx.workspace()
    assert f"crossdock.yaml:{line}" in str(err.value) and says in str(err.value)


def test_deploy_registers_the_daily_retention_flow_only_when_a_rule_is_set(tmp_path: Path) -> None:
    from flows.deployments import build_deployments

    ctx = _hub(tmp_path, f"sqlite:///{tmp_path / 'w.db'}", RULES + '\n    schedule: "5 1 * * *"')
    found = {d.name: d for d in build_deployments(ctx)}
    retention = found["apply-retention"]
    assert [s.schedule.cron for s in retention.schedules] == ["5 1 * * *"]  # type: ignore[union-attr]
    assert retention.entrypoint == "flows.retention.apply_retention"
    assert retention.parameters == {"workspace_dir": str(ctx.workspace_dir)}

    (tmp_path / "crossdock.yaml").write_text(WORKSPACE.format(url="sqlite:///w.db", retention="    {}"))
    assert "apply-retention" not in {d.name for d in build_deployments(ctx)}
