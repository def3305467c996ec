"""Identity review a person can act on (issue 19, point 9): each pair side by side with the
per-field evidence, and a record key accepted wherever a profile id is.

The CRM stream is synced and stitched by calling the pipeline directly (no Prefect): the
flows add nothing here, and tests/pipeline/test_stitch_end_to_end.py runs them.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from hub.cli import app
from hub.identity.run import stitch_workspace
from hub.pipeline.plan import plan_stream
from hub.pipeline.run import begin_run
from hub.pipeline.stream import sync_stream

pytestmark = pytest.mark.parametrize("hub", ["sqlite"], indirect=True)


def invoke(hub: Any, *args: str) -> Any:
    return CliRunner().invoke(app, ["--workspace", str(hub.ctx.workspace_dir), *args])


def sync_and_stitch(hub: Any) -> None:
    conn = hub.ctx.workspace().connection("crm")
    run_id = begin_run(hub.ctx, "crm", False)
    assert sync_stream(plan_stream(hub.ctx, conn, "contacts", run_id, False)).status == "succeeded"
    stitch_workspace(hub.ctx)


def test_review_shows_both_records_and_the_evidence_and_keys_open_profiles(hub: Any) -> None:
    sync_and_stitch(hub)
    pairs = json.loads(invoke(hub, "profiles", "review", "--json", "--limit", "3").stdout)
    assert pairs, "the sandbox's namesakes leave pairs to review"
    crm = hub.sandbox.hubspot.objects("contacts")
    for pair in pairs:
        for key, side in zip(pair["records"], pair["sides"], strict=True):
            source_props = crm[key.split(":", 1)[1]]["properties"]
            assert side["source"] == "hubspot" and side["table"] == "crm_contacts"
            assert (side["first_name"], side["last_name"]) == (
                source_props["firstname"],
                source_props["lastname"],
            )
            assert side["email"] == ((source_props["email"] or "").strip().lower() or None)
        evidence = pair["evidence"]
        assert set(evidence) == {"email", "phone", "first_name", "last_name", "city", "country"}
        # Levels agree with the two records; a disagreeing email weighs against the match.
        a, b = pair["sides"]
        if a["email"] and b["email"] and a["email"] != b["email"]:
            assert evidence["email"]["level"] == "different" and evidence["email"]["bits"] < 0
        if a["last_name"] and a["last_name"].lower() == (b["last_name"] or "").lower():
            assert evidence["last_name"]["level"] == "exact" and evidence["last_name"]["bits"] > 0

    text = invoke(hub, "profiles", "review", "--limit", "1")
    assert text.exit_code == 0, text.output
    first = pairs[0]
    for side in first["sides"]:
        assert side["first_name"] in text.stdout and (side["email"] or "") in text.stdout
    assert f"p {first['probability']:.4f}" in text.stdout and "crossdock profiles confirm" in text.stdout

    # A record key opens its profile in show, explain and split.
    key = first["records"][0]
    shown = json.loads(invoke(hub, "profiles", "show", key, "--json").stdout)
    assert key in {r["record_key"] for r in shown["records"]}
    pid = shown["profile"]["profile_id"]
    explained = json.loads(invoke(hub, "profiles", "explain", key, "--json").stdout)
    assert explained["profile_id"] == pid and explained["asked_for"] == key
    alone = invoke(hub, "profiles", "split", key, "--record", key)
    assert alone.exit_code in (0, 2), alone.output  # 2: the profile is that one record
    if len(shown["records"]) == 1:
        assert "not all of them" in alone.output

    # A key stitching never saw is one line, exit 2.
    result = invoke(hub, "profiles", "show", "hubspot:999999999")
    assert result.exit_code == 2
    assert "no stitched record `hubspot:999999999`" in result.output
    assert len(result.output.strip().splitlines()) == 1
