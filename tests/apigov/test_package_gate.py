"""A connector package's HTTP passes the hub's API gate too: the package runs as its own program
(here a small Airbyte source "installed" as `airbyte-source-hubspot`, calling the sandbox with
`requests` as the Python CDK does), and its calls take from the account's budget in the store,
stay under the sandbox's limit, and are refused before sending by the egress rules."""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from hub.apigov import EgressRefused, daily_usage
from hub.connections import source_for
from hub.context import HubContext
from hub.sandbox import Sandbox
from hub.sources import PackageSource

PACKAGE = "airbyte-source-hubspot"
CRM = "/crm/"

# An Airbyte source program: `spec`, and `read` making `pages` GETs (and a POST if asked).
PROGRAM = """\
#!{python}
import json, sys
import requests

args = dict(zip(sys.argv[2::2], sys.argv[3::2]))
if sys.argv[1] == "spec":
    spec = {{"properties": {{"access_token": {{"type": "string", "airbyte_secret": True}}}}}}
    print(json.dumps({{"type": "SPEC", "spec": {{"connectionSpecification": spec}}}}))
    sys.exit(0)
config = json.load(open(args["--config"]))
if sys.argv[1] == "discover":
    stream = {{"name": "contacts", "json_schema": {{}}, "supported_sync_modes": ["full_refresh"]}}
    print(json.dumps({{"type": "CATALOG", "catalog": {{"streams": [stream]}}}}))
    sys.exit(0)
session = requests.Session()
session.headers["Authorization"] = "Bearer " + config["access_token"]
for page in range(config["pages"]):
    answer = session.get(config["base_url"] + "/crm/v3/objects/contacts", params={{"limit": 1}})
    answer.raise_for_status()
    record = {{"stream": "contacts", "data": {{"page": page}}, "emitted_at": 0}}
    print(json.dumps({{"type": "RECORD", "record": record}}), flush=True)
if config.get("post"):
    session.post(config["base_url"] + "/crm/v3/objects/contacts", json={{}})
"""


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(seed=11, scale=50, port=0) as sb:
        yield sb


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The package as PackageSource leaves an installed one: its program and install marker
    (run by this interpreter, which has `requests`)."""
    root = tmp_path / "connectors"
    venv = root / PACKAGE
    (venv / "bin").mkdir(parents=True)
    program = venv / "bin" / "source-hubspot"
    program.write_text(PROGRAM.format(python=sys.executable))
    program.chmod(0o755)
    marker = {"requirement": PACKAGE, "entry_point": "source-hubspot"}
    (venv / "crossdock-installed.json").write_text(json.dumps(marker))
    monkeypatch.setenv("CROSSDOCK_CONNECTORS_DIR", str(root))
    monkeypatch.delenv("CROSSDOCK_STORE_URL", raising=False)
    return root


def _workspace(root: Path, base_url: str, *, pages: int, post: bool = False, budgets: str = "") -> HubContext:
    (root / "crossdock.yaml").write_text(
        textwrap.dedent(f"""\
        version: 1
        connections:
          crm_pkg:
            source:
              package: {PACKAGE}
              config: {{base_url: "{base_url}", access_token: sandbox-token, pages: {pages},
                        post: {str(post).lower()}}}
            destination: {{config: {{url: "sqlite:///warehouse.db"}}}}
            streams:
              contacts: {{mapping: hubspot/contacts, sync_mode: full_refresh}}
        """)
        + budgets
    )
    return HubContext(root)


def _read(ctx: HubContext) -> list[object]:
    source = source_for(ctx, ctx.workspace().connections["crm_pkg"])
    assert isinstance(source, PackageSource) and source.gate is not None
    return list(source.read("contacts", incremental=False, state=None))


def test_a_packages_calls_take_from_the_accounts_budget(
    tmp_path: Path, installed: Path, sandbox: Sandbox
) -> None:
    budgets = """\
api_budgets:
  accounts:
    portal:
      vendor: hubspot
      connections: [crm_pkg]
      windows: [{calls: 3, seconds: 1}]
      margin: 0.25
"""
    ctx = _workspace(tmp_path, sandbox.url, pages=8, budgets=budgets)
    sandbox.limits.set(CRM, calls=3, seconds=1.0)
    assert len(_read(ctx)) == 8
    assert sandbox.limits.over(CRM) == 0  # ungoverned, 8 calls at once would be 5 over
    assert sandbox.limits.served(CRM) == 8
    usage = {u["account"]: u["calls"] for u in daily_usage(ctx.engine)}
    assert usage == {"portal": 8}  # every call counted in the store, against the shared account


def test_a_package_calling_a_host_it_may_not_is_refused_before_sending(
    tmp_path: Path, installed: Path, sandbox: Sandbox
) -> None:
    ctx = _workspace(tmp_path, "http://crm.example.org", pages=2)
    with pytest.raises(EgressRefused, match="crm.example.org"):
        _read(ctx)
    assert _refusals(ctx) == [("host", "crm.example.org")]  # recorded, for the stream's audit entry


def test_a_read_package_may_not_write(tmp_path: Path, installed: Path, sandbox: Sandbox) -> None:
    ctx = _workspace(tmp_path, sandbox.url, pages=1, post=True)
    with pytest.raises(EgressRefused, match="POST /crm/v3/objects/contacts writes"):
        _read(ctx)
    sent = {hit: n for hit, n in sandbox.hits.items() if hit[0] == "/crm/v3/objects/contacts"}
    assert sum(sent.values()) == 1  # the GET went out; the POST did not
    assert _refusals(ctx) == [("method", "127.0.0.1")]


def _refusals(ctx: HubContext) -> list[tuple[str, str]]:
    with ctx.engine.connect() as conn:
        return [(r.rule, r.host) for r in conn.execute(text("SELECT rule, host FROM api_refusal"))]
