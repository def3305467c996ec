"""What a new user meets in the first hour (issue 19): capturing real records for a mapping,
the smallest manifest of docs/connectors.md, and custom fields reaching the warehouse.

On the live sandbox and a SQLite warehouse; no Prefect (the pipeline is called directly).
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from hub.cli import app
from hub.pipeline.plan import plan_stream
from hub.pipeline.run import begin_run
from hub.pipeline.stream import sync_stream

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.parametrize("hub", ["sqlite"], indirect=True)


def invoke(hub: Any, *args: str) -> Any:
    return CliRunner().invoke(app, ["--workspace", str(hub.ctx.workspace_dir), *args])


def test_sample_writes_json_lines_that_mapping_test_reads(hub: Any) -> None:
    result = invoke(hub, "sample", "crm", "contacts", "--limit", "7")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 7, "exactly --limit records, nothing else on stdout"
    records = [json.loads(line) for line in lines]
    crm = hub.sandbox.hubspot.objects("contacts")
    assert all(r["properties"]["email"] == crm[r["id"]]["properties"]["email"] for r in records)
    assert "7 record(s) of crm/contacts" in result.stderr
    file = hub.ctx.workspace_dir / "records.jsonl"
    file.write_text(result.stdout)
    preview = invoke(
        hub, "mapping", "test", str(ROOT / "mappings/hubspot/contacts.yaml"), "--input", str(file), "--json"
    )
    assert preview.exit_code == 0, preview.output
    assert [r["output"]["source_id"] for r in json.loads(preview.stdout)] == [r["id"] for r in records[:5]]
    assert not (hub.ctx.workspace_dir / "warehouse.db").exists(), "sample writes nothing"


def _smallest_manifest() -> str:
    doc = (ROOT / "docs" / "connectors.md").read_text()
    section = doc[doc.index("## The smallest manifest") :]
    found = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert found, "docs/connectors.md: the smallest manifest's yaml block"
    return found.group(1)


def test_the_smallest_manifest_in_the_docs_reads_every_page(hub: Any) -> None:
    ws = hub.ctx.workspace_dir
    (ws / "vendor" / "subjects").mkdir(parents=True)
    (ws / "vendor" / "subjects" / "manifest.yaml").write_text(_smallest_manifest())
    (ws / "mappings" / "subjects").mkdir(parents=True)
    (ws / "mappings" / "subjects" / "subjects.yaml").write_text(
        textwrap.dedent("""\
        source: onetrust
        stream: subjects
        entity: contact
        fields:
          source: {const: onetrust}
          source_id: {path: Id}
          email: {path: Identifier}
          updated_at: {path: LastUpdatedDate, apply: [to_utc]}
        """)
    )
    workspace = textwrap.dedent(f"""\
        version: 1
        connections:
          subjects:
            source:
              manifest: vendor/subjects/manifest.yaml
              config: {{base_url: "{hub.sandbox.url}", access_token: sandbox-token}}
            destination: {{type: sql, config: {{url: "sqlite:///{ws / "w.db"}"}}}}
            streams:
              subjects: {{sync_mode: full_refresh, mapping: subjects/subjects}}
        """)
    (ws / "crossdock.yaml").write_text(workspace)
    assert invoke(hub, "check", "subjects").exit_code == 0
    everyone = len(hub.sandbox.onetrust.profiles)
    assert everyone > 100, "more than one page of 100"
    result = invoke(hub, "sample", "subjects", "subjects", "--limit", str(everyone + 10))
    assert result.exit_code == 0, result.output
    ids = [json.loads(line)["Id"] for line in result.stdout.splitlines()]
    assert len(ids) == len(set(ids)) == everyone
    unknown = invoke(hub, "sample", "subjects", "subject")
    assert unknown.exit_code == 2 and "has no stream `subject`" in unknown.output, unknown.output
    assert "its source offers: subjects" in unknown.output
    # No cursor: declaring the stream incremental is refused at load, naming the line.
    (ws / "crossdock.yaml").write_text(workspace.replace("sync_mode: full_refresh", "sync_mode: incremental"))
    refused = invoke(hub, "sample", "subjects", "subjects")
    assert refused.exit_code == 2 and "crossdock.yaml:9" in refused.output, refused.output
    assert "has no cursor for it" in refused.output


def test_custom_fields_and_unmapped_source_fields_reach_the_warehouse(hub: Any) -> None:
    ws = hub.ctx.workspace_dir
    (ws / "mappings" / "hubspot").mkdir(parents=True)
    mapping = (ROOT / "mappings/hubspot/contacts.yaml").read_text()
    mapping = mapping.replace(
        "fields:\n",
        "custom_fields:\n  company_name: {type: string}\nkeep_unmapped: extra\nfields:\n"
        "  company_name: {path: properties.company}\n",
        1,
    )
    (ws / "mappings" / "hubspot" / "contacts_plus.yaml").write_text(mapping)
    path = ws / "crossdock.yaml"
    path.write_text(path.read_text().replace("mapping: hubspot/contacts", "mapping: hubspot/contacts_plus"))
    conn = hub.ctx.workspace().connection("crm")
    run_id = begin_run(hub.ctx, "crm", True)
    info = sync_stream(plan_stream(hub.ctx, conn, "contacts", run_id, True))
    assert info.status == "succeeded" and info.written > 0, info
    rows = {r["source_id"]: r for r in hub.rows("crm_contacts")}
    for oid, obj in hub.sandbox.hubspot.objects("contacts").items():
        if obj.get("archived"):
            continue
        row = rows[oid]
        assert row["company_name"] == obj["properties"]["company"]
        extra = row["extra"] if isinstance(row["extra"], dict) else json.loads(row["extra"])
        # hs_object_id is read by no field: kept; email is mapped: not repeated in `extra`
        assert extra["properties"]["hs_object_id"] == oid and "email" not in extra["properties"]
