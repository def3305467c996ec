"""The read API end to end: a real server on a real (stitched) SQLite warehouse, keys made with the
CLI; every answer cut to the key's scope, consent and regions, and audited."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys

import httpx

from hub.readapi.app import profile_hash
from hub.readapi.server import running_server
from tests.readapi.conftest import ORDERS, Api, at, write_table


def pid_of(api: Api, email: str) -> str:
    """A profile id, read from the warehouse (not through the API under test)."""
    from hub.destinations import open_destination

    dest = open_destination("sql", {"url": api.warehouse_url})
    try:
        rows = dest.read_rows("profile_identifiers", where={"type": "email", "value": email})
    finally:
        dest.close()
    return str(rows[0]["profile_id"])


def test_a_profile_is_returned_only_with_consent_for_the_keys_purpose(api: Api) -> None:
    ada, bob, cy = (pid_of(api, f"{n}@example.org") for n in ("ada", "bob", "cy"))
    r = api.get(f"/v1/profiles/{ada}", "growth")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["data"]["profile_id"] == ada and body["data"]["email"] == "ada@example.org"
    # pii outside the key's `fields` is left out and named; other fields are all there
    assert body["withheld_fields"] == ["first_name", "last_name", "phone"]
    assert "first_name" not in body["data"] and "phone" not in body["data"]
    assert body["data"]["country"] == "GB"
    # bob withdrew his newsletter consent (the later record wins); cy never gave one
    for who in (bob, cy):
        r = api.get(f"/v1/profiles/{who}", "growth")
        assert r.status_code == 404 and r.json()["error"] == "not_found", r.text
        assert "consent" in r.json()["reason"]
    # ada withdrew `profiling`: a key reading for that purpose does not get her, but cy, who
    # allows it; dee's grant and withdrawal at the same instant count as withdrawn
    dee = pid_of(api, "dee@example.org")
    assert api.get(f"/v1/profiles/{ada}", "profiling").status_code == 404
    assert api.get(f"/v1/profiles/{cy}", "profiling").status_code == 200
    assert api.get(f"/v1/profiles/{dee}", "profiling").status_code == 404


def test_a_merged_away_id_answers_with_the_profile_it_became(api: Api) -> None:
    from hub.destinations import open_destination
    from hub.identity.run import profile_tables

    ada = pid_of(api, "ada@example.org")
    spec = profile_tables()["profile_redirects"]
    dest = open_destination("sql", {"url": api.warehouse_url})
    try:
        dest.prepare(spec, "merge")
        dest.write(
            spec, "merge", [{"old_profile_id": "p_gone", "profile_id": ada, "run_id": "r0", "at": at(9)}]
        )
    finally:
        dest.close()
    r = api.get("/v1/profiles/p_gone", "growth")
    assert r.status_code == 200, r.text
    assert r.json()["data"]["profile_id"] == ada and r.json()["data"]["redirected_from"] == "p_gone"
    assert api.get("/v1/profiles/p_never", "growth").status_code == 404


def test_regions_and_fields_scope(api: Api) -> None:
    ada, dee = pid_of(api, "ada@example.org"), pid_of(api, "dee@example.org")
    assert api.get(f"/v1/profiles/{dee}", "de-only").status_code == 200
    assert api.get(f"/v1/profiles/{ada}", "de-only").status_code == 404  # GB is outside DE
    r = api.get(f"/v1/profiles/{dee}", "no-pii")
    assert r.status_code == 200 and "email" not in r.json()["data"]
    assert set(r.json()["withheld_fields"]) == {"email", "phone", "first_name", "last_name"}


def test_lookup_by_email(api: Api) -> None:
    ada = pid_of(api, "ada@example.org")
    r = api.get("/v1/profiles", "growth", email=" Ada@Example.org ")
    assert r.status_code == 200 and [p["profile_id"] for p in r.json()["data"]] == [ada]
    r = api.get("/v1/profiles", "growth", email="bob@example.org")  # no consent: withheld, counted
    assert r.status_code == 200 and r.json() | {"withheld_fields": []} == {
        "data": [],
        "withheld": 1,
        "withheld_fields": [],
    }
    r = api.get("/v1/profiles", "no-pii", email="ada@example.org")  # may not see emails: may not ask by one
    assert r.status_code == 403 and "email" in r.json()["reason"]
    r = api.get("/v1/profiles", "growth", email="not-an-address")
    assert r.status_code == 400 and r.json()["error"] == "bad_request"


def test_timeline_pages_with_a_cursor_and_shows_only_scoped_entities(api: Api) -> None:
    ada = pid_of(api, "ada@example.org")
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 1} | ({"cursor": cursor} if cursor else {})
        r = api.get(f"/v1/profiles/{ada}/timeline", "growth", **params)
        assert r.status_code == 200, r.text
        seen += [(e["event"], e["record_key"]) for e in r.json()["data"]]
        cursor, pages = r.json()["next_cursor"], pages + 1
        if cursor is None:
            break
    # contact and order events; her consent events are not in the key's entities
    assert seen == [
        ("contact updated", "shop:u1"),
        ("order created", "shop:order:o1"),
        ("order created", "shop:order:o4"),
    ]
    assert pages >= 5  # two consent events were paged over, withheld
    whole = api.get(f"/v1/profiles/{ada}/timeline", "growth").json()
    assert [(e["event"], e["record_key"]) for e in whole["data"]] == seen and whole["withheld"] == 2
    # a cursor from another profile's timeline, or an altered one, is a 400
    dee = pid_of(api, "dee@example.org")
    first = api.get(f"/v1/profiles/{ada}/timeline", "growth", limit=1).json()["next_cursor"]
    for bad in (first, "bm90LWEtY3Vyc29y", "%%%"):
        r = api.get(f"/v1/profiles/{dee}/timeline", "growth", cursor=bad)
        assert r.status_code == 400 and r.json()["error"] == "bad_cursor", r.text


def test_entity_pages_are_stable_and_hold_only_consenting_people(api: Api) -> None:
    def page_all(**params: object) -> list[str]:
        out, cursor = [], None
        while True:
            r = api.get(
                "/v1/entities/order", "growth", limit=1, **params, **({"cursor": cursor} if cursor else {})
            )
            assert r.status_code == 200, r.text
            out += [row["source_id"] for row in r.json()["data"]]
            assert all("email" in row and "_synced_at" in row for row in r.json()["data"])
            cursor = r.json()["next_cursor"]
            if cursor is None:
                return out

    # o2 is bob's (consent withdrawn): never shown. Synced on day 10: o1, o2; day 11: o3, o4.
    assert page_all() == ["o1", "o3", "o4"]
    assert page_all(updated_since="2026-01-11T00:00:00Z") == ["o3", "o4"]
    r = api.get("/v1/entities/order", "growth")
    assert r.json()["withheld"] == 1 and r.json()["next_cursor"] is None
    # A row re-written while a client pages moves behind the cursor: seen once, after the rest.
    first = api.get("/v1/entities/order", "growth", limit=1).json()
    assert [row["source_id"] for row in first["data"]] == ["o1"]
    write_table(api.warehouse_url, "shop_orders", "order", [ORDERS[2] | {"total": 99.0}], at(12))
    rest, cursor = [], first["next_cursor"]
    while cursor:
        page = api.get("/v1/entities/order", "growth", limit=1, cursor=cursor).json()
        rest += [(row["source_id"], row["total"]) for row in page["data"]]
        cursor = page["next_cursor"]
    assert rest == [("o4", 40.0), ("o3", 99.0)]
    # a cursor for one query is refused for another
    cursor = api.get("/v1/entities/order", "growth", limit=1).json()["next_cursor"]
    r = api.get("/v1/entities/order", "growth", cursor=cursor, updated_since="2026-01-11T00:00:00Z")
    assert r.status_code == 400 and r.json()["error"] == "bad_cursor"


def test_scope_refusals_are_4xx_with_a_json_reason(api: Api) -> None:
    ada = pid_of(api, "ada@example.org")
    cases = [
        (api.get("/v1/entities/contact", "growth"), 403, "forbidden"),  # entity outside scope
        (api.get(f"/v1/profiles/{ada}", "catalog"), 403, "forbidden"),
        (api.get("/v1/entities/nonsense", "growth"), 404, "not_found"),
        (api.get("/v1/entities/order", "growth", limit=0), 400, "bad_request"),
        (api.get("/v1/entities/order", "growth", updated_since="yesterday"), 400, "bad_request"),
        (api.get("/v1/nowhere", "growth"), 404, "not_found"),
    ]
    for response, status, error in cases:
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/json"
        assert response.json()["error"] == error and response.json()["reason"]
        assert "Traceback" not in response.text


def test_keys_that_do_not_open_the_api(api: Api) -> None:
    ada = pid_of(api, "ada@example.org")
    path = f"/v1/profiles/{ada}"
    r = api.get(path)
    assert (
        r.status_code == 401
        and r.headers["www-authenticate"] == "Bearer"
        and "no API key" in r.json()["reason"]
    )
    forged = api.tokens["growth"][:-4] + "AAAA"
    r = httpx_get(api, path, forged)
    assert r.status_code == 401 and r.json()["reason"] == "unknown API key"
    assert httpx_get(api, path, "letmein").status_code == 401

    token = json_token(api, "temp", "--scope", "entities=profile", "--scope", "purposes=newsletter")
    assert httpx_get(api, path, token).status_code == 200
    api.cli("api-keys", "revoke", "temp")
    r = httpx_get(api, path, token)
    assert r.status_code == 401 and "revoked" in r.json()["reason"]

    short = json_token(
        api, "short", "--scope", "entities=profile", "--scope", "purposes=newsletter", "--expires-in", "1s"
    )
    import time

    time.sleep(1.1)
    r = httpx_get(api, path, short)
    assert r.status_code == 401 and "expired" in r.json()["reason"]
    listed = {k["name"]: k["status"] for k in json_list(api)}
    assert listed["temp"] == "revoked" and listed["short"] == "expired" and listed["growth"] == "active"


def test_rate_limit_is_429_with_retry_after(api: Api) -> None:
    token = json_token(
        api, "slow", "--scope", "entities=profile", "--scope", "purposes=newsletter", "--rate", "1/min"
    )
    ada = pid_of(api, "ada@example.org")
    assert httpx_get(api, f"/v1/profiles/{ada}", token).status_code == 200
    r = httpx_get(api, f"/v1/profiles/{ada}", token)
    assert r.status_code == 429 and r.json()["error"] == "rate_limited"
    assert 1 <= int(r.headers["retry-after"]) <= 60


def test_two_servers_share_a_keys_rate(api: Api) -> None:
    """A second app with its own memory (as a second process has) over the same store: the
    key's one request a minute, spent on the first, is refused on the second."""
    token = json_token(
        api, "shared", "--scope", "entities=profile", "--scope", "purposes=newsletter", "--rate", "1/min"
    )
    ada = pid_of(api, "ada@example.org")
    assert httpx_get(api, f"/v1/profiles/{ada}", token).status_code == 200
    with running_server(api.ctx, port=0, key_recheck_seconds=0) as other:
        r = httpx.get(f"{other}/v1/profiles/{ada}", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert r.status_code == 429 and 1 <= int(r.headers["retry-after"]) <= 60
    refused = [e for e in api.audit("api.refused") if e["actor"] == "shared"]
    assert [e["details"]["status"] for e in refused] == [429]


def test_worker_processes_serve_and_stop_cleanly(api: Api) -> None:
    """`serve-api --workers 2`: forked servers on one port, every answer audited, SIGTERM stops
    them all (exit 0)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    argv = [sys.executable, "-m", "hub.cli", "--workspace", str(api.ctx.workspace_dir), "serve-api"]
    server = subprocess.Popen(
        [*argv, "--port", str(port), "--workers", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        assert server.stdout is not None
        assert b"2 workers" in server.stdout.readline()
        ada, before = pid_of(api, "ada@example.org"), len(api.audit("api.read"))
        headers = {"Authorization": f"Bearer {api.tokens['growth']}"}
        url = f"http://127.0.0.1:{port}/v1/profiles/{ada}"
        statuses = [httpx.get(url, headers=headers, timeout=10).status_code for _ in range(6)]
    finally:
        server.send_signal(signal.SIGTERM)
        _, err = server.communicate(timeout=60)
    assert statuses == [200] * 6
    assert server.returncode == 0, err.decode()[-2000:]
    assert len(api.audit("api.read")) - before == 6


def test_every_access_is_audited_with_hashed_profile_ids(api: Api) -> None:
    ada, bob = pid_of(api, "ada@example.org"), pid_of(api, "bob@example.org")
    before = len(api.audit("api.read"))
    api.get(f"/v1/profiles/{ada}", "growth")
    api.get(f"/v1/profiles/{bob}", "growth")
    api.get("/v1/profiles", "growth", email="ada@example.org")
    reads = api.audit("api.read")[before:]
    assert [(e["actor"], e["target"], e["details"]["endpoint"]) for e in reads] == [
        ("growth", "profile", "GET /v1/profiles/{profile_id}"),
        ("growth", "profile", "GET /v1/profiles/{profile_id}"),
        ("growth", "profile", "GET /v1/profiles"),
    ]
    assert [(e["details"]["records"], e["details"]["withheld"], e["details"]["status"]) for e in reads] == [
        (1, 0, 200),
        (0, 1, 404),
        (1, 0, 200),
    ]
    assert reads[0]["details"]["profiles"] == [profile_hash(ada)]
    assert reads[1]["details"]["profiles"] == [profile_hash(bob)]
    tail = api.cli("audit", "tail", "--action", "api.read", "-n", "3")
    assert "growth" in tail and profile_hash(ada) in tail
    for text in (tail, str(reads)):  # ids as hashes, no personal data
        assert ada not in text and "ada@example.org" not in text
    refused = api.audit("api.refused")
    assert any(e["actor"] == "anonymous" and e["details"]["status"] == 401 for e in refused)
    assert any(e["actor"] == "catalog" and e["details"]["status"] == 403 for e in refused)
    assert "api.refused" not in {e["action"] for e in reads}
    assert api.cli("audit", "verify").startswith("audit log intact")


def test_openapi_page(api: Api) -> None:
    spec = api.get("/openapi.json").json()
    assert {"/v1/profiles/{profile_id}", "/v1/profiles", "/v1/profiles/{profile_id}/timeline"} <= set(
        spec["paths"]
    )
    assert "/v1/entities/{entity}" in spec["paths"]
    assert api.get("/docs").status_code == 200


def httpx_get(api: Api, path: str, token: str) -> object:
    import httpx

    return httpx.get(api.url + path, headers={"Authorization": f"Bearer {token}"}, timeout=10)


def json_token(api: Api, name: str, *args: str) -> str:
    import json

    return str(json.loads(api.cli("api-keys", "create", name, *args, "--json"))["token"])


def json_list(api: Api) -> list[dict[str, object]]:
    import json

    return list(json.loads(api.cli("api-keys", "list", "--json")))


def test_the_one_statement_lookup_decides_as_the_general_consent_path(api: Api) -> None:
    """The lean lookup reads a profile and its consent records in one statement (the consent table
    is in the profile tables' database here); for every profile and purpose its verdict is the
    one `visible_profiles` (one query per table) gives."""
    from hub.readapi.policy import profile_if_visible, visible_profiles
    from hub.readapi.scope import Scope
    from hub.readapi.warehouse import open_warehouse

    w = open_warehouse(api.ctx)
    try:
        assert w._joined is not None  # the path under test
        _, ids = w.db.query('SELECT profile_id FROM "profiles"')
        scopes = [
            Scope(entities=frozenset({"profile"}), purposes=(purpose,), regions=frozenset(regions))
            for purpose in ("newsletter", "profiling", "ads")
            for regions in ((), ("GB",), ("DE", "FR"))
        ]
        verdicts = set()
        for scope in scopes:
            for (pid,) in ids:
                row, visible = profile_if_visible(w, scope, pid)
                assert row is not None and row == w.profile(pid)
                assert visible == (pid in visible_profiles(w, scope, [pid])), (pid, scope)
                verdicts.add(visible)
        assert verdicts == {True, False}
        assert profile_if_visible(w, scopes[0], "no-such-profile") == (None, False)
    finally:
        w.close()


def test_the_lean_profile_handler_alone_checks_refuses_and_audits(api: Api) -> None:
    """GET /v1/profiles/{id} is answered by LeanProfiles without the FastAPI app (here an app
    that fails any request it gets): an answer, a 404, and each refusal (no key, scope, rate)
    as the FastAPI route gives them, each audited before the answer is back."""
    import asyncio

    from hub.readapi.app import LeanProfiles, create_app

    ada, bob = pid_of(api, "ada@example.org"), pid_of(api, "bob@example.org")
    slow = json_token(
        api, "lean-slow", "--scope", "entities=profile", "--scope", "purposes=newsletter", "--rate", "1/min"
    )

    async def not_here(scope: object, receive: object, send: object) -> None:
        raise AssertionError("the FastAPI app was asked")

    async def run() -> list[tuple[int, dict[str, object], int]]:
        lean = LeanProfiles(create_app(api.ctx))
        api_state = lean.api
        lean.app = not_here  # type: ignore[assignment]
        transport = httpx.ASGITransport(app=lean)
        out = []
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://lean") as client:
                for path, token in [
                    (f"/v1/profiles/{ada}", api.tokens["growth"]),
                    (f"/v1/profiles/{bob}", api.tokens["growth"]),  # no consent: 404
                    (f"/v1/profiles/{ada}", None),
                    (f"/v1/profiles/{ada}", api.tokens["catalog"]),
                    (f"/v1/profiles/{ada}", slow),
                    (f"/v1/profiles/{ada}", slow),
                ]:
                    headers = {"Authorization": f"Bearer {token}"} if token else {}
                    r = await client.get(path, headers=headers)
                    out.append(
                        (r.status_code, r.json(), len(api.audit("api.read")) + len(api.audit("api.refused")))
                    )
                    if r.status_code == 429:
                        assert 1 <= int(r.headers["retry-after"]) <= 60
                    if r.status_code == 401:
                        assert r.headers["www-authenticate"] == "Bearer"
        finally:
            api_state.close()
        return out

    before = len(api.audit("api.read")) + len(api.audit("api.refused"))
    answers = asyncio.run(run())
    assert [status for status, _, _ in answers] == [200, 404, 401, 403, 200, 429]
    assert answers[0][1]["data"]["profile_id"] == ada  # type: ignore[index]
    assert [body.get("error") for _, body, _ in answers[1:]] == [  # type: ignore[union-attr]
        "not_found",
        "unauthorized",
        "forbidden",
        None,
        "rate_limited",
    ]
    # each answer's entry was in the log when the answer arrived
    assert [n - before for _, _, n in answers] == [1, 2, 3, 4, 5, 6]
    reads = api.audit("api.read")[-3:]
    refused = api.audit("api.refused")[-3:]
    assert {e["details"]["endpoint"] for e in reads + refused} == {"GET /v1/profiles/{profile_id}"}
    assert [(e["actor"], e["details"]["status"]) for e in refused] == [
        ("anonymous", 401),
        ("catalog", 403),
        ("lean-slow", 429),
    ]
    assert [(e["actor"], e["details"]["status"], e["details"]["profiles"]) for e in reads] == [
        ("growth", 200, [profile_hash(ada)]),
        ("growth", 404, [profile_hash(bob)]),
        ("lean-slow", 200, [profile_hash(ada)]),
    ]


def test_worker_connections_have_nagle_off() -> None:
    """The socket `--workers` share says it is TCP, so asyncio sets TCP_NODELAY on each
    connection (left at protocol 0, Nagle held each answer's body for the client's delayed ACK)."""
    import asyncio

    from hub.readapi.server import listening_socket

    sock = listening_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    nodelay: list[int] = []

    async def run() -> None:
        def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            conn = writer.get_extra_info("socket")
            nodelay.append(conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(accepted, sock=sock)
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(100):
            if nodelay:
                break
            await asyncio.sleep(0.01)
        writer.close()
        server.close()

    asyncio.run(run())
    assert sock.proto == socket.IPPROTO_TCP and nodelay == [1]
