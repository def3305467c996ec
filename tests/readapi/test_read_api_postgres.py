"""The read API on PostgreSQL: warehouse and hub store (keys, audit log) in a fresh schema."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.context import HubContext
from hub.readapi.app import profile_hash
from tests.readapi.conftest import build, serving


@pytest.mark.postgres
def test_profiles_entities_and_audit_on_postgres(
    tmp_path: Path, pg_schema_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CROSSDOCK_STORE_URL", pg_schema_url)
    ctx = build(tmp_path, pg_schema_url)
    try:
        check(ctx, pg_schema_url)
    finally:
        ctx.engine.dispose()  # the store's pooled connections: the server is shared by every test run


def check(ctx: HubContext, pg_schema_url: str) -> None:
    with serving(ctx, pg_schema_url) as api:
        r = api.get("/v1/profiles", "growth", email="ada@example.org")
        assert r.status_code == 200, r.text
        ada = r.json()["data"][0]["profile_id"]
        assert api.get(f"/v1/profiles/{ada}", "de-only").status_code == 404  # region
        bob = api.get("/v1/profiles", "growth", email="bob@example.org").json()
        assert bob["data"] == [] and bob["withheld"] == 1  # consent withdrawn

        ids, cursor = [], None
        while True:
            page = api.get(
                "/v1/entities/order", "growth", limit=2, **({"cursor": cursor} if cursor else {})
            ).json()
            ids += [row["source_id"] for row in page["data"]]
            if (cursor := page["next_cursor"]) is None:
                break
        assert ids == ["o1", "o3", "o4"]
        timeline = api.get(f"/v1/profiles/{ada}/timeline", "growth").json()["data"]
        assert [e["record_key"] for e in timeline] == ["shop:u1", "shop:order:o1", "shop:order:o4"]

        reads = api.audit("api.read")
        assert reads[0]["actor"] == "growth" and reads[0]["details"]["profiles"] == [profile_hash(ada)]
        assert api.get(f"/v1/profiles/{ada}").status_code == 401
        assert any(e["details"]["status"] == 401 for e in api.audit("api.refused"))
        assert api.get(f"/v1/profiles/{ada}", "growth").json()["data"]["profile_id"] == ada
    same_verdicts_in_one_statement(ctx)


def same_verdicts_in_one_statement(ctx: HubContext) -> None:
    """The one-statement lookup (profile + consent records, PostgreSQL's strpos/substr) decides
    as the general path does, for every profile, purpose and region set."""
    from hub.readapi.policy import profile_if_visible, visible_profiles
    from hub.readapi.scope import Scope
    from hub.readapi.warehouse import open_warehouse

    w = open_warehouse(ctx)
    try:
        assert w._joined is not None
        _, ids = w.db.query(f"SELECT profile_id FROM {w.db.table_ref('profiles')}")
        verdicts = set()
        for purpose in ("newsletter", "profiling", "ads"):
            for regions in ((), ("GB",), ("DE", "FR")):
                scope = Scope(
                    entities=frozenset({"profile"}), purposes=(purpose,), regions=frozenset(regions)
                )
                for (pid,) in ids:
                    row, visible = profile_if_visible(w, scope, pid)
                    assert row is not None and visible == (pid in visible_profiles(w, scope, [pid]))
                    verdicts.add(visible)
        assert verdicts == {True, False}
    finally:
        w.close()
