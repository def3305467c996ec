"""The demo's consent step: a few profiles written back to the Mailchimp sandbox under the
consent policy, then a withdrawal made in the OneTrust sandbox reaching that list as an
unsubscribe on the next run.

The repository's crossdock.yaml declares no `purposes` (its connections would all need a
purpose and a region), so this step runs in a small governed workspace of its own beside it
(`.crossdock/demo-consent/crossdock.yaml`, printed): the demo's warehouse and its synced
OneTrust consents, one write-back connection of purpose `email_marketing`."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hub.cli.render import console, print_run_summary

__all__ = ["consent_step"]

AUDIENCE = "newsletter_audience"  # the profiles this step writes back (a table it fills)

_WORKSPACE = """\
# Written by `crossdock demo`: the consent policy on a newsletter write-back (docs/governance.md).
version: 1
connections:
  consent:                          # the demo's OneTrust connection: where the consents are
    source:
      connector: onetrust
      config: {{base_url: '{url}', access_token: sandbox-token, start_date: '2020-01-01T00:00:00Z'}}
    destination: {{type: sql, purpose: records, region: eu, config: {{url: '{warehouse}'}}}}
    streams:
      purpose_consents: {{mapping: onetrust/purpose_consents}}
  newsletter:                       # a few profiles -> the Mailchimp list
    source: {{warehouse: '{warehouse}'}}
    destination:
      type: mailchimp
      purpose: email_marketing
      region: eu
      config: {{base_url: '{url}/3.0', list_id: '{list_id}', credentials: {{apikey: sandbox-token}}}}
    streams:
      {audience}: {{sync_mode: full_refresh, mapping: warehouse/profiles}}
governance:
  purposes:
    email_marketing: {{consent: [newsletter]}}
    records: {{consent: none}}
  regions:
    eu: {{countries: [Germany, Portugal, Norway], consent: opt_in, send_to: [eu]}}
    uk: {{countries: [United Kingdom], consent: opt_in, send_to: [uk, eu]}}
    us: {{countries: [United States, Canada], consent: opt_out, send_to: [us, eu]}}
  consents: {{connection: consent, stream: purpose_consents}}   # a person elsewhere: the strictest rule
"""


def consent_step(
    workspace_dir: Path, sb: Any, warehouse_url: str, sync: Callable[..., Any], consent_connection: str
) -> bool:
    """Returns whether every run succeeded and the withdrawn person ended unsubscribed."""
    from hub.sandbox.onetrust import PURPOSES

    newsletter = PURPOSES["newsletter"]
    granted, other = _audience(sb, warehouse_url, newsletter)
    if not granted:
        console.print("[yellow]no profile has a granted newsletter consent in this sandbox: step skipped[/]")
        return True
    root = workspace_dir / ".crossdock" / "demo-consent"
    root.mkdir(parents=True, exist_ok=True)
    list_id = str(sb.mailchimp.lists[0]["id"])
    (root / "crossdock.yaml").write_text(
        _WORKSPACE.format(url=sb.url, warehouse=warehouse_url, list_id=list_id, audience=AUDIENCE)
    )
    console.print(
        f"{len(granted) + len(other)} profiles in `{AUDIENCE}` ({len(granted)} with a granted newsletter "
        f"consent); the governed write-back is in {root / 'crossdock.yaml'}"
    )
    first = sync("newsletter", workspace_dir=str(root)).to_dict()
    print_run_summary(first, "newsletter write-back")

    leaver = granted[0]
    sb.onetrust.touch(leaver, newsletter, "WITHDRAWN")
    console.print("one subscriber withdraws their newsletter consent in OneTrust; the consent sync reads it")
    consent = sync(consent_connection, workspace_dir=str(workspace_dir)).to_dict()
    print_run_summary(consent, "consent sync")
    second = sync("newsletter", workspace_dir=str(root)).to_dict()
    print_run_summary(second, "newsletter write-back, after the withdrawal")
    status = _member_status(sb, list_id, leaver)
    sent = second["streams"][AUDIENCE].get("writeback") or {}
    console.print(
        f"Mailchimp: {sent.get('withdrawn', 0)} member unsubscribed by the hub; the one who withdrew is "
        f"now `{status}` in the list"
    )
    ok = {first["status"], consent["status"], second["status"]} == {"succeeded"}
    return ok and status == "unsubscribed"


def _audience(sb: Any, warehouse_url: str, purpose_id: str) -> tuple[list[str], list[str]]:
    """Fills the audience table with up to 8 profiles the consent system knows: 4 with a granted
    newsletter consent (the first will withdraw), the others withdrawn or never asked."""
    from dataclasses import replace

    from hub.destinations import open_destination
    from hub.identity.run import profile_tables

    consents = sb.onetrust.subjects
    with sqlite3.connect(warehouse_url.removeprefix("sqlite:///")) as db:
        emails = [
            e for (e,) in db.execute("SELECT email FROM profiles WHERE email IS NOT NULL ORDER BY profile_id")
        ]
    known = [e for e in emails if e.lower() in consents and not e.startswith("info@")]
    granted = [e for e in known if consents[e.lower()].get(purpose_id) == "ACTIVE"][:4]
    other = [e for e in known if consents[e.lower()].get(purpose_id) != "ACTIVE"][:4]
    spec = profile_tables()["profiles"]
    dest = open_destination("sql", {"url": warehouse_url})
    try:
        rows = [r for e in granted + other for r in dest.read_rows("profiles", where={"email": e})[:1]]
        audience = replace(spec, name=AUDIENCE, indexes=())
        dest.prepare(audience, "overwrite")
        dest.write(audience, "overwrite", rows)
        dest.finish(audience, "overwrite")
    finally:
        dest.close()
    return granted, other


def _member_status(sb: Any, list_id: str, email: str) -> str:
    for member in sb.mailchimp.members[list_id].values():
        if member["email_address"].lower() == email.lower():
            return str(member["status"])
    return "not in the list"
