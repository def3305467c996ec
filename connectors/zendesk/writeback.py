"""Zendesk Support write-back: users created or updated in bulk, by email.

POST /api/v2/users/create_or_update_many.json takes up to 100 users and
answers with a job; GET /api/v2/job_statuses/{id}.json is polled until the job
is `completed` (or `failed` / `killed`). Its results say, per input `index`,
whether the user was created or updated, or why not (`details`). A user is
matched by email, so a retried request updates the same users. Users are never
deleted.

Config (ZendeskConfig): base_url or subdomain, credentials (as for the source:
api_token with email, or oauth2.0 with access_token), job_timeout (seconds,
default 300), and WritebackConfig's retry settings.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator

from hub.errors import FatalError, RetriableError
from hub.writeback import (
    Change,
    ConfigSection,
    ErasureOutcome,
    ErasureSubject,
    Held,
    Outcome,
    WritebackBase,
    WritebackConfig,
    missing_key,
    tally,
)

_DONE = ("completed", "failed", "killed")


class Credentials(ConfigSection):
    """As for the source: {credentials: api_token, email, api_token} or
    {credentials: oauth2.0, access_token}."""

    credentials: Literal["api_token", "oauth2.0"]
    email: str | None = None
    api_token: SecretStr | None = None
    access_token: SecretStr | None = None

    @model_validator(mode="after")
    def _complete(self) -> Credentials:
        if self.credentials == "api_token" and not (self.email and self.api_token):
            raise missing_key(
                "zendesk write-back needs `credentials.email` and "
                "`credentials.api_token` with `credentials: api_token`"
            )
        if self.credentials == "oauth2.0" and self.access_token is None:
            raise missing_key(
                "zendesk write-back needs `credentials.access_token` with `credentials: oauth2.0`"
            )
        return self


class ZendeskConfig(WritebackConfig):
    credentials: Credentials = Field(
        description="{credentials: api_token, email, api_token} or {credentials: oauth2.0, access_token}"
    )
    subdomain: str | None = Field(default=None, description="acme for acme.zendesk.com")
    job_timeout: float = Field(default=300, gt=0, description="seconds to wait for a job")

    @model_validator(mode="after")
    def _where(self) -> ZendeskConfig:
        if not (self.base_url or self.subdomain):
            raise missing_key("zendesk write-back needs `subdomain` (or `base_url`)")
        return self


class Writeback(WritebackBase):
    name = "zendesk"
    Config = ZendeskConfig
    config: ZendeskConfig
    entity = "contact"
    batch_limit = 100  # create_or_update_many takes at most 100 users

    def __init__(self, config: ZendeskConfig | dict[str, Any]) -> None:
        super().__init__(config)
        creds = self.config.credentials
        auth: tuple[str, str] | None = None
        headers: dict[str, str] | None = None
        if creds.credentials == "api_token" and creds.api_token is not None:
            auth = (f"{creds.email}/token", creds.api_token.get_secret_value())
        elif creds.access_token is not None:
            headers = {"Authorization": f"Bearer {creds.access_token.get_secret_value()}"}
        self.job_timeout = self.config.job_timeout
        self._poll = self.config.backoff_factor
        self.client = self.client_for(
            f"https://{self.config.subdomain}.zendesk.com", product="Zendesk", auth=auth, headers=headers
        )

    def check(self) -> str:
        resp = self.client.request("GET", "/api/v2/users/me.json")
        user = (resp.body or {}).get("user") or {}
        if resp.status != 200:
            raise FatalError(f"Zendesk answered HTTP {resp.status}: {resp.body}")
        if user.get("role") not in ("admin", "agent"):
            raise FatalError(
                f"the Zendesk credentials act as a `{user.get('role')}`; "
                "create_or_update_many needs an agent or an admin"
            )
        return f"the Zendesk credentials act as an {user['role']}"

    def prepare(self, row: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        email = (row.get("email") or "").strip().lower()
        if not email:
            raise ValueError("no `email`: Zendesk users are matched by email")
        name = " ".join(str(row[f]) for f in ("first_name", "last_name") if row.get(f))
        user: dict[str, Any] = {"email": email}
        if name:
            user["name"] = name
        if row.get("phone"):
            user["phone"] = str(row["phone"])
        return email, user

    def upsert(self, changes: Sequence[Change]) -> list[Outcome]:
        resp = self.client.request(
            "POST", "/api/v2/users/create_or_update_many.json", json={"users": [c.payload for c in changes]}
        )
        if resp.status != 200 or not isinstance(resp.body, dict) or "job_status" not in resp.body:
            raise FatalError(f"Zendesk create_or_update_many answered HTTP {resp.status}: {resp.body}")
        job = self._wait(resp.body["job_status"])
        if job["status"] != "completed":
            raise RetriableError(f"Zendesk job {job['id']} ended `{job['status']}`: {job.get('message')}")
        by_index = {r.get("index"): r for r in job.get("results") or []}
        outcomes = []
        for i, _ in enumerate(changes):
            result = by_index.get(i)
            if result is None:
                outcomes.append(Outcome(False, "Zendesk's job reported nothing for this user"))
            elif result.get("id") is not None and not result.get("error"):
                outcomes.append(Outcome(True, remote_id=str(result["id"])))
            else:
                outcomes.append(Outcome(False, f"{result.get('error')}: {result.get('details')}"))
        return outcomes

    def read_back(self) -> Iterator[Held]:
        """Every active user, by email, with the fields `prepare` sends: the incremental user
        export from the start (GET /api/v2/incremental/users/cursor.json, 1,000 a page, cursor
        paged; it lists deleted users too, `active: false`, which are left out)."""
        params: dict[str, Any] = {"start_time": 0, "per_page": 1000}
        while True:
            resp = self.client.request("GET", "/api/v2/incremental/users/cursor.json", params=params)
            if resp.status != 200 or not isinstance(resp.body, dict):
                raise FatalError(f"Zendesk answered HTTP {resp.status} to the user export: {resp.body}")
            for user in resp.body.get("users") or []:
                email = str(user.get("email") or "").strip().lower()
                if email and user.get("active", True):
                    payload = {"email": email, **{f: user[f] for f in ("name", "phone") if user.get(f)}}
                    yield Held(email, str(user.get("id")), payload)
            cursor = resp.body.get("after_cursor")
            if resp.body.get("end_of_stream") or not cursor:
                return
            params = {"cursor": cursor, "per_page": 1000}

    def _wait(self, job: dict[str, Any]) -> dict[str, Any]:
        deadline, wait = time.monotonic() + self.job_timeout, self._poll
        while job.get("status") not in _DONE:
            if time.monotonic() > deadline:
                raise RetriableError(
                    f"Zendesk job {job.get('id')} still `{job.get('status')}` "
                    f"after {self.job_timeout:g} s; raise `job_timeout` or "
                    "retry the run (users are matched by email: no duplicates)"
                )
            time.sleep(wait)
            wait = min(wait * 2, 10.0)
            resp = self.client.request("GET", f"/api/v2/job_statuses/{job['id']}.json")
            job = (resp.body or {}).get("job_status") or job
        return job

    def erase(self, subject: ErasureSubject) -> ErasureOutcome:
        """Permanent user deletion: DELETE /api/v2/users/{id} (soft delete), then DELETE
        /api/v2/deleted_users/{id} (Zendesk scrubs the user for good). The users are the ids
        the hub knows plus those a search by email finds."""
        ids = set(subject.ids_in("zendesk"))
        for email in subject.emails:
            resp = self.client.request("GET", "/api/v2/users/search.json", params={"query": f"email:{email}"})
            if resp.status != 200:
                raise FatalError(f"Zendesk user search answered HTTP {resp.status}")
            ids |= {str(u["id"]) for u in (resp.body or {}).get("users") or []}
        deleted = missing = 0
        for uid in sorted(ids):
            soft = self.client.request("DELETE", f"/api/v2/users/{uid}")
            if soft.status not in (200, 204, 404):
                raise FatalError(f"Zendesk user deletion answered HTTP {soft.status}: {soft.body}")
            hard = self.client.request("DELETE", f"/api/v2/deleted_users/{uid}")
            if hard.status in (200, 204):
                deleted += 1
            elif hard.status == 404:
                missing += 1
            else:
                raise FatalError(f"Zendesk permanent deletion answered HTTP {hard.status}: {hard.body}")
        return tally("Zendesk users (permanent deletion)", deleted, missing)
