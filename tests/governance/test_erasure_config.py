"""`governance.erasure` is checked when the workspace loads (file:line), and tombstones
recognise an erased person by address, record key or profile id, nobody else."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.errors import ConfigError
from hub.governance.tombstones import Tombstones, digest, tombstone_key
from hub.workspace import Workspace, load_workspace

WORKSPACE = """\
version: 1
connections:
  crm:
    source: {{connector: hubspot, config: {{access_token: t, start_date: '2020-01-01T00:00:00Z'}}}}
    destination: {{type: sql, config: {{url: 'sqlite:///w.db'}}}}
    streams:
      contacts: {{mapping: hubspot/contacts}}
governance:
  erasure:
    systems:
      desk:
{system}
"""


def _load(tmp_path: Path, system: str) -> Workspace:
    (tmp_path / "crossdock.yaml").write_text(WORKSPACE.format(system=system))
    for folder in ("mappings", "connectors"):
        (tmp_path / folder).symlink_to(Path(__file__).parents[2] / folder)
    return load_workspace(tmp_path / "crossdock.yaml")


@pytest.mark.parametrize(
    ("system", "line", "says"),
    [
        ("        type: zendsk\n        config: {}", 12, "unknown erasure system type `zendsk`"),
        (
            "        type: zendesk\n        config: {subdomain: a, credentials: {credentials: api_token,"
            " email: a@b.c, api_token: x}, job_timout: 3}",
            13,
            "did you mean `job_timeout`",
        ),
        ("        type: shopify\n        config: {shop: acme}", 13, "needs `access_token`"),
    ],
)
def test_a_bad_erasure_system_names_its_line(tmp_path: Path, system: str, line: int, says: str) -> None:
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, system)
    assert f"crossdock.yaml:{line}" in str(err.value) and says in str(err.value), str(err.value)


def test_a_good_erasure_system_loads(tmp_path: Path) -> None:
    ws = _load(
        tmp_path, "        type: shopify\n        config: {shop: acme, access_token: '${env:SHOP_TOKEN}'}"
    )
    [(name, system)] = ws.governance.erasure.systems.items()
    assert system.type == "shopify" and system.config["shop"] == "acme", name


def test_tombstones_cover_the_erased_person_and_nobody_else() -> None:
    key = tombstone_key(b"k" * 32)
    erased = Tombstones(
        key,
        [
            digest(key, "email", "Ann@Example.com"),
            digest(key, "record", "zendesk:42"),
            digest(key, "profile", "p_1"),
        ],
    )
    assert erased.covers({"email": "ann@example.com "})
    assert erased.covers({"source": "zendesk", "source_id": 42})
    assert erased.covers({"source": "crossdock", "source_id": "x", "profile_id": "p_1"})
    assert not erased.covers({"email": "bob@example.com", "source": "zendesk", "source_id": "43"})
    assert not erased.covers({"source": "hubspot", "source_id": "42"})  # same id, another system
    assert not Tombstones(tombstone_key(b"j" * 32), erased.digests).covers({"email": "ann@example.com"})
