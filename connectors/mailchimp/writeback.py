"""Mailchimp write-back: list members upserted in batches, tagged, archived on delete.

POST /3.0/lists/{list_id} ("batch subscribe or unsubscribe") takes up to 500
members with `update_existing: true`; Mailchimp keys a member by the MD5 of
the lower-cased address (the subscriber hash), so a retried batch updates the
same members. Its answer lists `new_members`, `updated_members` and per-address
`errors`. New members get `status_if_new` (default `pending`: Mailchimp sends
the double opt-in email); an existing member's status is never changed, so an
unsubscribe is never undone. Configured `tags` are added through the list's
static segments (POST /lists/{id}/segments/{segment_id}, 500 addresses per call).
With write_mode `overwrite`, members whose row left the table are archived
(DELETE /lists/{id}/members/{subscriber_hash}), which Mailchimp can undo.

Config (MailchimpConfig): base_url or credentials.apikey (its -usN suffix names the
datacenter), list_id, status_if_new, tags, and WritebackConfig's retry settings.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator

from hub.errors import FatalError
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

_MERGE_FIELDS = {"first_name": "FNAME", "last_name": "LNAME", "phone": "PHONE"}


def subscriber_hash(email: str) -> str:
    return hashlib.md5(email.lower().encode()).hexdigest()  # Mailchimp's member id


class Credentials(ConfigSection):
    """As for the source: an API key (its -usN suffix names the datacenter) or an OAuth token."""

    auth_type: Literal["apikey", "oauth2.0"] | None = None
    apikey: SecretStr | None = None
    access_token: SecretStr | None = None

    @model_validator(mode="after")
    def _one_secret(self) -> Credentials:
        if self.apikey is None and self.access_token is None:
            raise missing_key(
                "mailchimp write-back needs `credentials.apikey` (or `credentials.access_token`)"
            )
        return self


class MailchimpConfig(WritebackConfig):
    credentials: Credentials = Field(description="{apikey: KEY} or {access_token: TOKEN}")
    list_id: str = Field(description="the audience to upsert into")
    status_if_new: Literal["subscribed", "pending", "unsubscribed", "transactional"] = "pending"
    tags: list[str] = Field(default_factory=list)


class Writeback(WritebackBase):
    name = "mailchimp"
    Config = MailchimpConfig
    config: MailchimpConfig
    entity = "contact"
    batch_limit = 500  # Mailchimp's batch subscribe takes at most 500 members
    deletes = True

    def __init__(self, config: MailchimpConfig | dict[str, Any]) -> None:
        super().__init__(config)
        creds = self.config.credentials
        self.list_id, self.status_if_new = self.config.list_id, self.config.status_if_new
        self.tags = self.config.tags
        self._segments: dict[str, int] = {}
        secret = (creds.apikey or creds.access_token or SecretStr("")).get_secret_value()
        default = f"https://{secret.rsplit('-', 1)[-1]}.api.mailchimp.com/3.0"
        auth = ("crossdock", secret) if creds.apikey else None
        headers = None if creds.apikey else {"Authorization": f"Bearer {secret}"}
        self.client = self.client_for(default, product="Mailchimp", auth=auth, headers=headers)

    def check(self) -> str:
        resp = self.client.request("GET", f"/lists/{self.list_id}", params={"fields": "id,name"})
        body = resp.body or {}
        if resp.status == 404:
            raise FatalError(
                f"Mailchimp has no list `{self.list_id}` ({body.get('detail')}); "
                "check `list_id` in the destination config"
            )
        if resp.status != 200:
            raise FatalError(f"Mailchimp answered HTTP {resp.status}: {body.get('detail') or body}")
        return f"Mailchimp list `{body.get('name')}` ({self.list_id}) is there and readable"

    def prepare(self, row: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        email = (row.get("email") or "").strip().lower()
        if not email:
            raise ValueError("no `email`: Mailchimp members are keyed by their address")
        merge = {tag: str(row[field]) for field, tag in _MERGE_FIELDS.items() if row.get(field) is not None}
        return email, {"email_address": email, "status_if_new": self.status_if_new, "merge_fields": merge}

    def withdrawal(self, key: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        """A withdrawn consent unsubscribes the member (batch subscribe updates `status`)."""
        return {"email_address": key, "status": "unsubscribed", "status_if_new": "unsubscribed"}

    def upsert(self, changes: Sequence[Change]) -> list[Outcome]:
        resp = self.client.request(
            "POST",
            f"/lists/{self.list_id}",
            json={"members": [c.payload for c in changes], "update_existing": True},
        )
        body = resp.body or {}
        if resp.status == 404:
            raise FatalError(
                f"Mailchimp has no list `{self.list_id}` ({body.get('detail')}); "
                "check `list_id` in the destination config"
            )
        if resp.status != 200:
            raise FatalError(
                f"Mailchimp batch subscribe answered HTTP {resp.status}: {body.get('detail') or body}"
            )
        done = {
            m["email_address"].lower(): m["id"]
            for m in (body.get("new_members") or []) + (body.get("updated_members") or [])
        }
        failed = {
            e["email_address"].lower(): f"{e.get('error_code')}: {e.get('error')}"
            for e in body.get("errors") or []
        }
        outcomes = []
        for c in changes:
            if c.key in done:
                outcomes.append(Outcome(True, remote_id=done[c.key]))
            else:
                outcomes.append(
                    Outcome(
                        False,
                        failed.get(
                            c.key, "Mailchimp returned neither a member nor an error for this address"
                        ),
                    )
                )
        if self.tags:
            self._tag([c.key for c, o in zip(changes, outcomes, strict=True) if o.accepted])
        return outcomes

    def _tag(self, emails: list[str]) -> None:
        """Tags are static segments: add the accepted addresses to each, 500 per call."""
        for tag in self.tags:
            segment = self._segment(tag)
            for i in range(0, len(emails), 500):
                resp = self.client.request(
                    "POST",
                    f"/lists/{self.list_id}/segments/{segment}",
                    json={"members_to_add": emails[i : i + 500]},
                )
                if resp.status != 200:
                    raise FatalError(
                        f"Mailchimp refused to tag members `{tag}` (HTTP "
                        f"{resp.status}: {(resp.body or {}).get('detail')})"
                    )

    def _segment(self, tag: str) -> int:
        if not self._segments:
            resp = self.client.request(
                "GET", f"/lists/{self.list_id}/segments", params={"type": "static", "count": 1000}
            )
            self._segments = {s["name"]: s["id"] for s in (resp.body or {}).get("segments", [])}
        if tag not in self._segments:
            resp = self.client.request(
                "POST", f"/lists/{self.list_id}/segments", json={"name": tag, "static_segment": []}
            )
            if resp.status != 200:
                raise FatalError(
                    f"Mailchimp refused to create tag `{tag}` (HTTP {resp.status}: "
                    f"{(resp.body or {}).get('detail')})"
                )
            self._segments[tag] = resp.body["id"]
        return self._segments[tag]

    def delete(self, changes: Sequence[Change]) -> list[Outcome]:
        outcomes = []
        for c in changes:
            member = c.remote_id or ""
            resp = self.client.request("DELETE", f"/lists/{self.list_id}/members/{member}")
            if resp.status in (200, 204, 404):  # 404: gone already, which is what we wanted
                outcomes.append(Outcome(True, remote_id=member))
            else:
                outcomes.append(Outcome(False, f"HTTP {resp.status}: {(resp.body or {}).get('detail')}"))
        return outcomes

    def erase(self, subject: ErasureSubject) -> ErasureOutcome:
        """Permanent delete (POST /lists/{id}/members/{hash}/actions/delete-permanent) from
        every audience of the account, not only `list_id`: the member, their activity, and
        no way back (an archived member could be restored). 404: not on that list."""
        resp = self.client.request("GET", "/lists", params={"count": 1000, "fields": "lists.id"})
        if resp.status != 200:
            raise FatalError(
                f"Mailchimp lists answered HTTP {resp.status}: {(resp.body or {}).get('detail')}"
            )
        lists = [lst["id"] for lst in (resp.body or {}).get("lists") or []] or [self.list_id]
        deleted = missing = 0
        for list_id in lists:
            for email in subject.emails:
                path = f"/lists/{list_id}/members/{subscriber_hash(email)}/actions/delete-permanent"
                resp = self.client.request("POST", path)
                if resp.status in (200, 204):
                    deleted += 1
                elif resp.status == 404:
                    missing += 1
                else:
                    raise FatalError(
                        f"Mailchimp delete-permanent answered HTTP {resp.status}: "
                        f"{(resp.body or {}).get('detail')}"
                    )
        return tally(f"Mailchimp members in {len(lists)} audiences (permanent delete)", deleted, missing)

    def read_back(self) -> Iterator[Held]:
        """Every member of the list (archived ones are gone), 1,000 a page, in `prepare`'s form.

        `status_if_new` is an instruction for new members, not something Mailchimp keeps: it is
        echoed from the config, so a member's payload compares with what was sent."""
        offset = 0
        while True:
            resp = self.client.request(
                "GET",
                f"/lists/{self.list_id}/members",
                params={
                    "count": 1000,
                    "offset": offset,
                    "fields": "members.id,members.email_address,members.merge_fields,total_items",
                },
            )
            if resp.status != 200:
                raise FatalError(f"Mailchimp answered HTTP {resp.status}: {(resp.body or {}).get('detail')}")
            members = (resp.body or {}).get("members") or []
            for m in members:
                email = str(m.get("email_address") or "").strip().lower()
                fields = m.get("merge_fields") or {}
                merge = {
                    tag: fields[tag] for tag in _MERGE_FIELDS.values() if fields.get(tag) not in (None, "")
                }
                payload = {"email_address": email, "status_if_new": self.status_if_new, "merge_fields": merge}
                yield Held(email, str(m.get("id")), payload)
            offset += len(members)
            if not members or offset >= int((resp.body or {}).get("total_items") or 0):
                return
