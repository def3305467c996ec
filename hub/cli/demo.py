"""`crossdock demo`: the sandbox CRM synced into SQLite through Prefect twice; the help desk,
the email tool, the shop, the Facebook page and the consent system once; all six stitched
into profiles, and the profiles written back to the CRM; then offers written back, those for a
product the demo sold out held back by the stock policy; after the reconcile, a consent withdrawal
made in OneTrust reaching the Mailchimp list as an unsubscribe (hub/cli/demo_consent.py)."""

from __future__ import annotations

import random
import resource
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any

import typer

from hub.cli.common import handle_errors, hub_context, invoked_as
from hub.cli.demo_consent import consent_step
from hub.cli.render import console, print_run_summary
from hub.context import bound

__all__ = ["demo"]

CONNECTION = "crm"
HELP_DESK = "support"
EMAIL_TOOL = "email"
SHOP = "shop"
SOCIAL = "social"
CONSENT = "consent"
WRITE_BACK = "profiles_to_crm"
OFFERS = "offers_to_crm"
SOLD_OUT = "SKU-0001-0"  # the demo sells it out before the shop sync: its offers are held back


def sandbox_env(url: str) -> dict[str, str]:
    """The `${env:...}` values that point crossdock.yaml's connections at the sandbox."""
    return {
        "CROSSDOCK_HUBSPOT_URL": url,
        "CROSSDOCK_ZENDESK_URL": url,
        "CROSSDOCK_MAILCHIMP_URL": f"{url}/3.0",
        "CROSSDOCK_SHOPIFY_URL": url,
        "CROSSDOCK_FACEBOOK_URL": url,
        "CROSSDOCK_ONETRUST_URL": url,
    }


@handle_errors
def demo(
    scale: Annotated[int, typer.Option(help="CRM contacts in the sandbox (more: --scale 50000)")] = 5_000,
    seed: Annotated[int, typer.Option()] = 42,
    changes: Annotated[int, typer.Option(help="contacts changed between syncs")] = 50,
) -> None:
    """Start the sandbox, sync `crm` into SQLite, change records, sync again; sync `support`,
    `email`, `shop`, `social` and `consent`; stitch them into profiles; write the profiles
    back to the CRM."""
    from hub.cli import prefect_server

    early = prefect_server.start_early()  # before Prefect's imports (hub/cli/prefect_server.py)
    from flows.stitch import stitch_profiles as flow_stitch
    from flows.sync import sync_connection as flow_sync
    from hub.sandbox import Sandbox

    sync_connection, stitch_profiles = _with_progress(flow_sync), _with_progress(flow_stitch)

    conn = hub_context().workspace().connection(CONNECTION)
    prefect_ready = prefect_server.wait_ready if early else _start_prefect_server_early()
    steps = _Steps()
    steps.next("1. sandbox")
    with (
        Sandbox(seed=seed, scale=scale, port=0) as sb,
        bound(replace(hub_context(), env=sandbox_env(sb.url))) as ctx,
    ):
        console.print(
            f"HubSpot CRM sandbox at {sb.url}: "
            f"{len(sb.hubspot.objects('contacts')):,} contacts, "
            f"{len(sb.hubspot.objects('companies')):,} companies; Zendesk Support sandbox: "
            f"{len(sb.zendesk.objects('users')):,} users, "
            f"{len(sb.zendesk.objects('tickets')):,} tickets; Mailchimp sandbox: "
            f"{sum(len(m) for m in sb.mailchimp.members.values()):,} list members; "
            f"Shopify sandbox: {len(sb.shopify.customers):,} customers, "
            f"{len(sb.shopify.orders):,} orders; Facebook page sandbox: "
            f"{len(sb.facebook_pages.posts):,} posts; OneTrust sandbox: "
            f"{len(sb.onetrust.profiles):,} data subjects"
        )

        steps.next("2. first sync (full refresh) through the Prefect flow")
        prefect_ready()
        first = sync_connection(CONNECTION, full_refresh=True, workspace_dir=str(ctx.workspace_dir)).to_dict()
        print_run_summary(first, "first sync")

        steps.next("3. change records in the sandbox")
        changed = _change_records(sb, seed, changes)
        console.print(
            f"updated {changed['updated']} contacts and {changed['companies']} "
            f"companies, created {changed['created']} contacts"
        )

        steps.next("4. second sync (incremental)")
        second = sync_connection(CONNECTION, workspace_dir=str(ctx.workspace_dir)).to_dict()
        print_run_summary(second, "incremental sync")

        steps.next("5. check")
        url = second["destination"]
        equal = _report_equality(sb, url, conn.table_for("contacts"), conn.table_for("companies"))

        steps.next(
            "6. the other five systems: sync `support` (Zendesk), `email` (Mailchimp), "
            "`shop` (Shopify), `social` (Facebook), `consent` (OneTrust)"
        )
        help_desk = sync_connection(
            HELP_DESK, full_refresh=True, workspace_dir=str(ctx.workspace_dir)
        ).to_dict()
        print_run_summary(help_desk, "help desk sync")
        email_tool = sync_connection(
            EMAIL_TOOL, full_refresh=True, workspace_dir=str(ctx.workspace_dir)
        ).to_dict()
        print_run_summary(email_tool, "email tool sync")
        _sell_out(sb, SOLD_OUT)
        shop = sync_connection(SHOP, full_refresh=True, workspace_dir=str(ctx.workspace_dir)).to_dict()
        print_run_summary(shop, "shop sync")
        social = sync_connection(SOCIAL, full_refresh=True, workspace_dir=str(ctx.workspace_dir)).to_dict()
        print_run_summary(social, "social sync")
        consent = sync_connection(CONSENT, full_refresh=True, workspace_dir=str(ctx.workspace_dir)).to_dict()
        print_run_summary(consent, "consent sync")

        steps.next("7. identity stitching through the Prefect flow")
        stitched = stitch_profiles(workspace_dir=str(ctx.workspace_dir)).to_dict()
        console.print(
            f"{stitched['records']:,} contacts from the CRM, help desk, email tool, "
            "shop and consent system -> "
            f"{stitched['profiles']:,} profiles "
            f"({stitched['records'] - stitched['profiles']:,} records joined a profile); "
            f"{stitched['refused']:,} merges refused by guards, "
            f"{stitched['review']:,} pairs to review; {stitched['events']:,} tickets, "
            "email events, orders, comments and consents on profile timelines"
        )

        steps.next("8. write-back: the profiles upserted into the CRM (HubSpot batch upsert)")
        preview = sync_connection(WRITE_BACK, workspace_dir=str(ctx.workspace_dir), dry_run=True).to_dict()
        print_run_summary(preview, "dry run (no API call)")
        sent = sync_connection(WRITE_BACK, workspace_dir=str(ctx.workspace_dir)).to_dict()
        print_run_summary(sent, "write-back")
        calls = _upsert_calls(sb)
        again = sync_connection(WRITE_BACK, workspace_dir=str(ctx.workspace_dir)).to_dict()
        print_run_summary(again, "write-back again, nothing changed")
        console.print(
            f"API calls: {calls:,} for the first write-back, {_upsert_calls(sb) - calls:,} for the second"
        )

        steps.next(f"9. offers to the CRM: the sold-out {SOLD_OUT}'s offers held back (governance.stock)")
        console.print(f"{_write_offers(url, sb):,} offers in the `offers` table")
        offers = sync_connection(OFFERS, workspace_dir=str(ctx.workspace_dir)).to_dict()
        print_run_summary(offers, "offers write-back")

        steps.next("10. reconcile: does every warehouse table equal its source?")
        clean = _reconcile_all(ctx, sb)

        # after the reconcile: the newsletter write-back changes the email tool's list
        console.rule("11. consent: a withdrawal in OneTrust reaches the email tool as an unsubscribe")
        consented = consent_step(ctx.workspace_dir, sb, url, sync_connection, CONSENT)
        _where_to_look(url, conn.table_for("contacts"), ctx.store_url)
    steps.done()
    statuses = {
        offers["status"],
        first["status"],
        second["status"],
        help_desk["status"],
        email_tool["status"],
        shop["status"],
        social["status"],
        consent["status"],
        sent["status"],
        again["status"],
    }
    code = 0 if statuses == {"succeeded"} and equal and clean and consented else 1
    raise typer.Exit(code)


def _reconcile_all(ctx: Any, sb: Any) -> bool:
    """Reconcile every synced connection (zero differences expected), then plant a hard delete
    the CRM never announces: reconcile finds exactly that record and `--repair` makes it clean."""
    from hub.pipeline.run import claim_connection
    from hub.reconcile import reconcile_connection

    synced = (CONNECTION, HELP_DESK, EMAIL_TOOL, SHOP, SOCIAL, CONSENT)
    all_clean = True
    for name in synced:
        report = reconcile_connection(ctx, name)
        all_clean = all_clean and report.status == "clean"
        console.print(
            f"{name}: {len(report.streams)} streams, {sum(s.source for s in report.streams):,} source "
            f"records, {report.differences:,} differences ({report.status})"
        )
    victim = sorted(sb.hubspot.objects("contacts"), key=int)[0]
    console.print(f"planting a fault: CRM contact {victim} deleted without the API saying so")
    with sb.faults.planted("/crm/v3/objects/contacts", "deleted", record=victim, times=None):
        before = reconcile_connection(ctx, CONNECTION, streams=["contacts"])
        (contacts,) = before.streams
        console.print(
            f"reconcile found {contacts.extra:,} extra row(s) in the warehouse: "
            f"{contacts.samples.get('extra')}"
        )
        with claim_connection(ctx, CONNECTION, f"reconcile-repair-{CONNECTION}"):
            after = reconcile_connection(ctx, CONNECTION, streams=["contacts"], repair=True)
    console.print(
        f"after `{invoked_as()} reconcile {CONNECTION} --repair`: {after.streams[0].differences} differences "
        f"({after.status}; the row is flagged deleted, as `deletes: soft` says)"
    )
    return all_clean and contacts.differences == contacts.extra == 1 and after.status == "clean"


class _Steps:
    """Each step's title as a rule; at the end, one line with the wall and CPU seconds
    of each (CPU: the demo's threads and the source processes it ran), so a slow demo
    says where its time went."""

    def __init__(self) -> None:
        self._taken: list[tuple[str, float, float]] = []
        self._title: str | None = None
        self._wall, self._cpu = time.perf_counter(), _cpu_seconds()

    def next(self, title: str) -> None:
        self._close()
        console.rule(title)
        self._title = title

    def done(self) -> None:
        self._close()
        wall = sum(w for _, w, _ in self._taken)
        cpu = sum(c for _, _, c in self._taken)
        each = ", ".join(f"{title.split('.')[0]}: {w:.0f} s ({c:.0f} CPU)" for title, w, c in self._taken)
        console.print(f"\ntime per step: {each}; total {wall:.0f} s, {cpu:.0f} s CPU")

    def _close(self) -> None:
        wall, cpu = time.perf_counter(), _cpu_seconds()
        if self._title is not None:
            self._taken.append((self._title, wall - self._wall, cpu - self._cpu))
        self._wall, self._cpu = wall, cpu


def _cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _start_prefect_server_early() -> Callable[[], None]:
    """Prefect's temporary server (no PREFECT_API_URL) starts in its own process while the
    sandbox builds its data, instead of after it: on two cores the two overlap. Prefect keeps
    one such server per process, so every flow of the demo uses this one. Returns the wait
    for it to answer (its start-up error, if any, is raised there)."""
    from prefect.settings import PREFECT_API_URL

    if PREFECT_API_URL.value():
        return lambda: None
    from prefect.server.api.server import SubprocessASGIServer

    failure: list[BaseException] = []

    def start() -> None:
        try:
            SubprocessASGIServer().start()
        except BaseException as exc:  # re-raised in the demo's thread, where it is reported
            failure.append(exc)

    thread = threading.Thread(target=start, name="prefect-server-start", daemon=True)
    thread.start()

    def ready() -> None:
        thread.join()
        if failure:
            raise failure[0]

    return ready


def _with_progress(sync: Callable[..., Any]) -> Callable[..., Any]:
    """Each of the demo's syncs (and its stitch) shows live progress (records, records/s) on
    a terminal, as `crossdock sync` and `crossdock stitch` do."""
    from hub.cli.progress import live_progress
    from hub.context import for_workspace

    def run(*args: Any, **kwargs: Any) -> Any:
        ctx = for_workspace(kwargs["workspace_dir"])  # the demo's bound context
        with live_progress(True) as progress, bound(replace(ctx, progress=progress)):
            return sync(*args, **kwargs)

    return run


def _upsert_calls(sb: Any) -> int:
    return sum(n for (path, _), n in sb.hits.items() if path.endswith("/batch/upsert"))


def _change_records(sb: Any, seed: int, n: int) -> dict[str, int]:
    rng = random.Random(seed + 1)
    contacts = sorted(sb.hubspot.objects("contacts"), key=int)
    for cid in rng.sample(contacts, min(n, len(contacts))):
        sb.hubspot.update(
            "contacts", cid, {"lifecyclestage": "customer", "city": rng.choice(["Lisbon", "Oslo", "Austin"])}
        )
    companies = sorted(sb.hubspot.objects("companies"), key=int)
    n_companies = max(1, n // 10)
    for cid in rng.sample(companies, min(n_companies, len(companies))):
        sb.hubspot.update("companies", cid, {"industry": "RETAIL"})
    created = max(1, n // 5)
    for i in range(created):
        sb.hubspot.create(
            "contacts", {"email": f"new.person{i}@example.org", "firstname": "New", "lastname": f"Person {i}"}
        )
    return {"updated": min(n, len(contacts)), "companies": n_companies, "created": created}


def _report_equality(sb: Any, url: str, contacts_table: str, companies_table: str) -> bool:
    """Does the destination hold exactly the source's records, each at its latest version?"""
    path, all_same = url.removeprefix("sqlite:///"), True
    with sqlite3.connect(path) as db:
        for stream, table in (("contacts", contacts_table), ("companies", companies_table)):
            source = {
                oid: _instant(obj["updatedAt"])
                for oid, obj in sb.hubspot.objects(stream).items()
                if not obj.get("archived")
            }
            rows = {
                k: _instant(v)
                for k, v in db.execute(f'SELECT source_id, updated_at FROM "{table}"').fetchall()
            }
            same = rows == source
            all_same = all_same and same
            console.print(
                f"{stream}: source {len(source):,}, destination {len(rows):,} rows; "
                "same keys and versions (updatedAt): "
                f"{'[green]yes[/]' if same else '[red]NO[/]'}"
            )
    return all_same


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _where_to_look(url: str, table: str, store_url: str) -> None:
    path = url.removeprefix("sqlite:///")
    crossdock = invoked_as()  # `.venv/bin/crossdock` when that is how the demo was run
    console.print(f"\nthe data is in [bold]{path}[/]; look at it with:")
    console.print(f"  sqlite3 {path} 'SELECT source_id, email, phone, updated_at FROM {table} LIMIT 5'")
    with sqlite3.connect(path) as db:
        joined = db.execute(
            "SELECT profile_id, email FROM profiles WHERE record_count > 1 "
            "AND sources LIKE '%,%' AND email IS NOT NULL ORDER BY profile_id LIMIT 1"
        ).fetchone()
    if joined:
        console.print("profiles (golden record, records, timeline) and why records were joined:")
        console.print(f"  {crossdock} profiles show {joined[1]}")
        console.print(f"  {crossdock} profiles explain {joined[0]}")
    console.print(f"run history and dead letters are in {store_url.removeprefix('sqlite:///')}:")
    console.print(f"  {crossdock} runs")
    console.print(f"  {crossdock} audit tail    # what the hub did, hash-chained: {crossdock} audit verify")
    console.print(
        f"  sqlite3 {store_url.removeprefix('sqlite:///')} "
        "'SELECT stream, reason FROM dead_letters ORDER BY id DESC LIMIT 5'"
    )


def _sell_out(sb: Any, sku: str) -> None:
    """The shop's stock of `sku` at every location drops to 0 (before the demo syncs the shop)."""
    item = next(v["inventory_item_id"] for p in sb.shopify.products for v in p["variants"] if v["sku"] == sku)
    for key in [k for k in sb.shopify.levels if k[0] == item]:
        sb.shopify.levels[key] = 0


def _write_offers(url: str, sb: Any, limit: int = 40) -> int:
    """A stand-in recommender: the first profiles with an email each get one of the first four
    products' first variant (one of them sold out)."""
    from hub.destinations import TableSpec, open_destination

    products = [(p["id"], p["variants"][0]["sku"], p["title"]) for p in sb.shopify.products[:4]]
    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
        emails = [
            e
            for (e,) in db.execute(
                "SELECT DISTINCT email FROM profiles WHERE email IS NOT NULL ORDER BY profile_id LIMIT ?",
                (limit,),
            )
        ]
    spec = TableSpec(
        "offers",
        {"id": "string", "email": "string", "sku": "string", "product_id": "string", "title": "string"},
        key=("id",),
    )
    rows = [
        {"id": f"offer-{i}", "email": email, "sku": sku, "product_id": str(pid), "title": title}
        for i, email in enumerate(emails)
        for pid, sku, title in [products[i % len(products)]]
    ]
    dest = open_destination("sql", {"url": url})
    try:
        dest.prepare(spec, "overwrite")
        dest.write(spec, "overwrite", rows)
        dest.finish(spec, "overwrite")
    finally:
        dest.close()
    return len(rows)
