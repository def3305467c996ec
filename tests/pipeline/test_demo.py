"""`crossdock demo`, the README's first command, on the repository's own crossdock.yaml."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.cli import app

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.usefixtures("prefect_server")
def test_demo_syncs_twice_and_the_warehouse_equals_the_sandbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CROSSDOCK_STORE_URL", raising=False)
    shutil.copy(ROOT / "crossdock.yaml", tmp_path / "crossdock.yaml")
    result = CliRunner().invoke(
        app, ["--workspace", str(tmp_path), "demo", "--scale", "400", "--changes", "30"]
    )
    out = result.output
    assert result.exit_code == 0, out
    assert out.count("same keys and versions (updatedAt): yes") == 2, out
    assert "first sync" in out and "incremental sync" in out
    assert (tmp_path / ".crossdock" / "warehouse.db").is_file()
    assert "help desk sync" in out and "email tool sync" in out, out
    assert "comments and consents on" in out and "shop sync" in out, out
    assert "social sync" in out and "consent sync" in out, out
    # the profiles go back to the CRM; the second write-back finds nothing changed
    assert "dry run (no API call)" in out and "would create" in out, out
    calls = out[out.index("API calls: ") :].split()
    assert int(calls[2].replace(",", "")) > 0 and calls[7] == "0", out[out.index("API calls") :]
    # the incremental sync read the 30 changed and 6 new contacts, not all 406 again
    incremental = out[out.index("incremental sync") :]
    contacts_row = next(line for line in incremental.splitlines() if "crm_contacts" in line)
    read = int(contacts_row.split("│")[3])
    assert 36 <= read < 100, contacts_row
    # offers for the product the demo sold out are held back by the stock policy, and counted
    assert "policies on offers: 10 held back" in out and "drop:stock.default 10" in out, out[-3000:]
    # every synced connection reconciles clean; a planted hard delete is found exactly, then repaired
    reconciled = out[out.index("10. reconcile") :]
    for name in ("crm", "support", "email", "shop", "social", "consent"):
        assert f"\n{name}: " in reconciled and "0 differences (clean)" in reconciled, reconciled
    assert reconciled.count(" differences (clean)") == 6, reconciled
    assert "reconcile found 1 extra row(s) in the warehouse: ['hubspot|" in reconciled, reconciled
    assert "--repair`: 0 differences (clean" in reconciled, reconciled
    # a newsletter consent withdrawn in OneTrust reaches the Mailchimp list as an unsubscribe
    consent = out[out.index("11. consent") :]
    assert "policies on newsletter_audience:" in consent and "withdraw:consent.email_marketing" in consent
    assert "Mailchimp: 1 member unsubscribed by the hub" in consent, consent
    assert "the one who withdrew is now `unsubscribed` in the list" in consent, consent
