"""The read API end to end: a real server on a real (stitched) SQLite warehouse, keys made with the
CLI; every answer cut to the key's scope, consent and regions, and audited."""

from __future__ import annotations

from tests.readapi.conftest import Api


def profile_id(api: Api, email: str) -> str:
    r = api.get("/v1/profiles", "growth", email=email)
    assert r.status_code == 200, r.text
    return r.json()["data"][0]["profile_id"]


def test_smoke(api: Api) -> None:
    r = api.get("/v1/profiles", "growth", email="ada@example.org")
    print(r.status_code, r.text)
    assert r.status_code == 200
