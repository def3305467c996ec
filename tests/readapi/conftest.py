"""A small real workspace for the read API: contacts, OneTrust consents and orders written to the
warehouse with the hub's own SQL writer (as a sync leaves them), stitched into profiles, and the
API served on port 0 over it."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from hub.canonical import get_entity
from hub.cli import app
from hub.context import HubContext
from hub.destinations import LINEAGE_COLUMNS, TableSpec, open_destination
from hub.identity.run import stitch_workspace
from hub.readapi.server import running_server

MANIFEST = """
version: 6.0.0
type: DeclarativeSource
streams:
  - name: users
  - name: consents
  - name: orders
"""

WORKSPACE = """\
version: 1
connections:
  shop:
    source: {{manifest: fake.yaml}}
    destination: {{type: sql, config: {{url: "{url}"}}}}
    streams:
      users: {{mapping: fake/users, sync_mode: full_refresh}}
      consents: {{mapping: fake/consents, sync_mode: full_refresh}}
      orders: {{mapping: fake/orders, sync_mode: full_refresh}}
"""

STREAMS = (
    ("users", "contact", ["source_id", "email", "phone", "first_name", "last_name", "country", "updated_at"]),
    ("consents", "consent", ["source_id", "contact_id", "email", "purpose", "event", "occurred_at"]),
    ("orders", "order", ["source_id", "email", "total", "created_at", "updated_at"]),
)


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 1, day, hour, tzinfo=UTC)


def person(sid: str, email: str, first: str, country: str, **more: Any) -> dict[str, Any]:
    return {
        "source_id": sid,
        "email": email,
        "first_name": first,
        "country": country,
        "updated_at": at(1),
    } | more


def consent(sid: str, email: str, purpose: str, event: str, day: int) -> dict[str, Any]:
    return {"source_id": sid, "email": email, "purpose": purpose, "event": event, "occurred_at": at(day)}


# ada and dee consent to the newsletter; bob withdrew it; cy never said (but allows profiling).
# OneTrust knows people by email (its subject ids are not the shop's).
PEOPLE = [
    person("u1", "ada@example.org", "Ada", "GB", phone="+14155550101", last_name="Lovelace"),
    person("u2", "bob@example.org", "Bob", "DE", last_name="Byron"),
    person("u3", "cy@example.org", "Cy", "FR"),
    person("u4", "dee@example.org", "Dee", "DE"),
]
CONSENTS = [
    consent("c1", "ada@example.org", "newsletter", "granted", 2),
    consent("c2", "ada@example.org", "profiling", "withdrawn", 2),
    consent("c3", "bob@example.org", "newsletter", "granted", 2),
    consent("c4", "bob@example.org", "newsletter", "withdrawn", 3),
    consent("c5", "dee@example.org", "newsletter", "granted", 4),
    consent("c6", "cy@example.org", "profiling", "granted", 4),
    # two records at the same instant: the one that is not `granted` wins
    consent("c7", "dee@example.org", "profiling", "granted", 5),
    consent("c8", "dee@example.org", "profiling", "withdrawn", 5),
]
ORDERS = [
    {
        "source_id": f"o{i}",
        "email": email,
        "total": 10.0 * i,
        "created_at": at(5 + i),
        "updated_at": at(5 + i),
    }
    for i, email in enumerate(["ada@example.org", "bob@example.org", "dee@example.org", "ada@example.org"], 1)
]


def write_table(url: str, table: str, entity: str, rows: list[dict[str, Any]], synced: datetime) -> None:
    """Rows as a sync writes them: the entity's columns plus the lineage columns (merge on key)."""
    columns = {f.name: f.type for f in get_entity(entity).fields} | LINEAGE_COLUMNS
    spec = TableSpec(table, columns, key=("source", "source_id"))
    dest = open_destination("sql", {"url": url})
    try:
        dest.prepare(spec, "merge")
        lineage = {
            "_cd_connection": "shop",
            "_cd_stream": table,
            "_cd_run_id": "r1",
            "_cd_extracted_at": synced,
        }
        dest.write(
            spec,
            "merge",
            [
                {
                    c: ({"source": "onetrust" if entity == "consent" else "shop"} | lineage | row).get(c)
                    for c in columns
                }
                for row in rows
            ],
        )
    finally:
        dest.close()


@dataclass
class Api:
    ctx: HubContext
    url: str
    warehouse_url: str
    tokens: dict[str, str]

    def get(self, path: str, key: str | None = None, **params: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[key]}"} if key else {}
        return httpx.get(self.url + path, headers=headers, params=params, timeout=10)

    def cli(self, *args: str) -> str:
        result = CliRunner().invoke(app, ["--workspace", str(self.ctx.workspace_dir), *args])
        assert result.exit_code == 0, result.output
        return result.stdout

    def audit(self, action: str) -> list[dict[str, Any]]:
        out = self.cli("audit", "tail", "--action", action, "-n", "1000", "--json")
        return [json.loads(line) for line in out.splitlines() if line.strip()]


KEYS = {
    "growth": ["entities=profile,order", "fields=email", "purposes=newsletter"],
    "de-only": ["entities=profile", "fields=email", "purposes=newsletter", "regions=DE"],
    "no-pii": ["entities=profile", "purposes=newsletter"],
    "profiling": ["entities=profile,order", "purposes=profiling"],
    "catalog": ["entities=product"],
}


def build(root: Path, warehouse_url: str) -> HubContext:
    (root / "fake.yaml").write_text(MANIFEST)
    (root / "mappings" / "fake").mkdir(parents=True)
    for stream, entity, fields in STREAMS:
        lines = [f"source: fake\nstream: {stream}\nentity: {entity}\nfields:\n  source: {{const: fake}}"]
        lines += [f"  {f}: {{path: {f}}}" for f in fields]
        (root / "mappings" / "fake" / f"{stream}.yaml").write_text("\n".join(lines) + "\n")
    (root / "crossdock.yaml").write_text(textwrap.dedent(WORKSPACE.format(url=warehouse_url)))
    write_table(warehouse_url, "shop_users", "contact", PEOPLE, at(10))
    write_table(warehouse_url, "shop_consents", "consent", CONSENTS, at(10))
    write_table(warehouse_url, "shop_orders", "order", ORDERS[:2], at(10))
    write_table(warehouse_url, "shop_orders", "order", ORDERS[2:], at(11))
    ctx = HubContext(root)
    stitch_workspace(ctx)
    return ctx


@contextmanager
def serving(ctx: HubContext, warehouse_url: str) -> Iterator[Api]:
    api = Api(ctx, "", warehouse_url, {})
    for name, scope in KEYS.items():
        args = [a for s in scope for a in ("--scope", s)]
        api.tokens[name] = json.loads(
            api.cli("api-keys", "create", name, *args, "--rate", "1000/s", "--json")
        )["token"]
    with running_server(ctx, port=0, key_recheck_seconds=0) as url:  # a revocation counts at once
        api.url = url
        yield api


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    root = tmp_path_factory.mktemp("readapi")
    url = f"sqlite:///{root / 'warehouse.db'}"
    with serving(build(root, url), url) as served:
        yield served
