"""Zendesk Support write-back: users created or updated in bulk, by email.

POST /api/v2/users/create_or_update_many.json takes up to 100 users and
answers with a job; GET /api/v2/job_statuses/{id}.json is polled until the job
is `completed` (or `failed` / `killed`). Its results say, per input `index`,
whether the user was created or updated, or why not (`details`). A user is
matched by email, so a retried request updates the same users. Users are never
deleted.

Config: base_url or subdomain, credentials (as for the source: api_token with
email, or oauth2.0 with access_token), job_timeout (seconds, default 300),
max_attempts, backoff_factor.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from hub.errors import ConfigError, FatalError, RetriableError
from hub.writeback import ApiClient, Change, Outcome

_DONE = ("completed", "failed", "killed")


class Writeback:
    entity = "contact"
    batch_limit = 100  # create_or_update_many takes at most 100 users
    deletes = False

    def __init__(self, config: dict[str, Any]) -> None:
        creds = config.get("credentials") or {}
        kind = creds.get("credentials")
        if kind == "api_token" and creds.get("email") and creds.get("api_token"):
            self._secret = str(creds["api_token"])
            auth, headers = (f"{creds['email']}/token", self._secret), None
        elif kind == "oauth2.0" and creds.get("access_token"):
            self._secret = str(creds["access_token"])
            auth, headers = None, {"Authorization": f"Bearer {self._secret}"}
        else:
            raise ConfigError("zendesk write-back needs `credentials`: {credentials: api_token, "
                              "email, api_token} or {credentials: oauth2.0, access_token}",
                              key="destination.config.credentials")
        if not (config.get("base_url") or config.get("subdomain")):
            raise ConfigError("zendesk write-back needs `subdomain` (or `base_url`)",
                              key="destination.config.subdomain")
        self.job_timeout = float(config.get("job_timeout", 300))
        self._poll = float(config.get("backoff_factor", 0.5))
        self.client = ApiClient.from_config(
            config, f"https://{config.get('subdomain')}.zendesk.com", product="Zendesk",
            auth=auth, headers=headers)

    def secret_values(self) -> list[str]:
        return [self._secret]

    def check(self) -> str:
        resp = self.client.request("GET", "/api/v2/users/me.json")
        user = (resp.body or {}).get("user") or {}
        if resp.status != 200:
            raise FatalError(f"Zendesk answered HTTP {resp.status}: {resp.body}")
        if user.get("role") not in ("admin", "agent"):
            raise FatalError(f"the Zendesk credentials act as a `{user.get('role')}`; "
                             "create_or_update_many needs an agent or an admin")
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
        resp = self.client.request("POST", "/api/v2/users/create_or_update_many.json",
                                   json={"users": [c.payload for c in changes]})
        if resp.status != 200 or not isinstance(resp.body, dict) or "job_status" not in resp.body:
            raise FatalError(f"Zendesk create_or_update_many answered HTTP {resp.status}: "
                             f"{resp.body}")
        job = self._wait(resp.body["job_status"])
        if job["status"] != "completed":
            raise RetriableError(f"Zendesk job {job['id']} ended `{job['status']}`: "
                                 f"{job.get('message')}")
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

    def _wait(self, job: dict[str, Any]) -> dict[str, Any]:
        deadline, wait = time.monotonic() + self.job_timeout, self._poll
        while job.get("status") not in _DONE:
            if time.monotonic() > deadline:
                raise RetriableError(f"Zendesk job {job.get('id')} still `{job.get('status')}` "
                                     f"after {self.job_timeout:g} s; raise `job_timeout` or "
                                     "retry the run (users are matched by email: no duplicates)")
            time.sleep(wait)
            wait = min(wait * 2, 10.0)
            resp = self.client.request("GET", f"/api/v2/job_statuses/{job['id']}.json")
            job = (resp.body or {}).get("job_status") or job
        return job

    def delete(self, changes: Sequence[Change]) -> list[Outcome]:
        raise NotImplementedError("Zendesk write-back never deletes users")

    def close(self) -> None:
        self.client.close()
