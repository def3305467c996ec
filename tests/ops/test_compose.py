"""docker-compose.yml (issue 17): the production topology as Compose resolves it, checked offline
with `docker compose config` (or `docker-compose config`); skipped where neither is installed
(failed under CI=true: .ci/run installs docker-compose).
The production example workspace it bakes into the image is checked without Docker."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from hub.workspace import load_workspace

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "docs" / "deploy"
REQUIRED = {
    "POSTGRES_PASSWORD": "pg-pass-2718",
    "CROSSDOCK_MASTER_KEY": "master-key-3141",
    "CROSSDOCK_ZENDESK_URL": "https://acme.zendesk.com",
}
CROSSDOCK_SERVICES = {"prefect-server", "deploy", "worker"}


def _compose() -> list[str]:
    if (
        shutil.which("docker")
        and subprocess.run(["docker", "compose", "version"], capture_output=True, check=False).returncode == 0
    ):
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    message = "neither `docker compose` nor `docker-compose` is installed (`apt-get install docker-compose`)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)  # .ci/run installs it: CI must check the file
    pytest.skip(message)


def compose_config(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CROSSDOCK_", "POSTGRES_"))}
    return subprocess.run(
        [
            *_compose(),
            "--project-directory",
            str(ROOT),
            "-f",
            str(ROOT / "docker-compose.yml"),
            *args,
            "config",
        ],
        capture_output=True,
        text=True,
        env={**clean, **(env if env is not None else REQUIRED)},
        cwd=ROOT,
        check=False,
        timeout=120,
    )


def services(*args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    result = compose_config(*args, env=env)
    assert result.returncode == 0, result.stderr
    loaded: dict[str, Any] = yaml.safe_load(result.stdout)["services"]
    return loaded


@pytest.fixture(scope="module")
def svc() -> dict[str, Any]:
    """The services as `config` resolves them (run once: Compose v1 starts slowly)."""
    return services()


def test_the_topology_resolves_with_pinned_images_and_one_built_image(svc: dict[str, Any]) -> None:
    assert {"postgres", "prefect-server", "deploy", "worker"} <= set(svc)
    # Compose v2 leaves a service of an inactive profile out of `config`; v1 shows it, marked.
    assert svc.get("sandbox", {"profiles": ["demo"]})["profiles"] == ["demo"]
    for name, service in svc.items():
        image = service["image"]
        assert re.search(r":\d[\w.-]*$", image), f"{name}: image {image} is not pinned to a version"
    for name in CROSSDOCK_SERVICES:
        build = svc[name]["build"]
        assert Path(build["context"]).resolve() == ROOT and build["dockerfile"] == "docs/deploy/Dockerfile"
        assert "pip" not in " ".join(svc[name]["command"])  # installed once, in the image
        assert not any(str(v).endswith(":/workspace") for v in svc[name].get("volumes", []))
    assert (ROOT / svc["deploy"]["build"]["dockerfile"]).is_file()


def test_deploy_runs_once_before_the_workers_poll_the_pool(svc: dict[str, Any]) -> None:
    assert svc["deploy"]["command"] == ["crossdock", "deploy"]
    assert svc["deploy"]["restart"] == "no"
    assert svc["worker"]["depends_on"]["deploy"]["condition"] == "service_completed_successfully"
    worker = svc["worker"]["command"]
    assert worker[:3] == ["prefect", "worker", "start"] and worker[worker.index("--pool") + 1] == "crossdock"
    pool = load_workspace(DEPLOY / "crossdock.yaml").orchestration.work_pool
    assert pool == "crossdock"


def test_prefect_and_the_hub_use_separate_databases(svc: dict[str, Any]) -> None:
    prefect_db = svc["prefect-server"]["environment"]["PREFECT_API_DATABASE_CONNECTION_URL"].rsplit("/", 1)[1]
    env = svc["worker"]["environment"]
    store_db = env["CROSSDOCK_STORE_URL"].rsplit("/", 1)[1]
    warehouse_db = env["CROSSDOCK_WAREHOUSE_URL"].rsplit("/", 1)[1]
    assert len({prefect_db, store_db, warehouse_db}) == 3
    assert svc["postgres"]["environment"]["POSTGRES_DB"] == prefect_db
    init_sql = "\n".join(p.read_text() for p in sorted((DEPLOY / "initdb").glob("*.sql")))
    for database in (store_db, warehouse_db):
        assert f"CREATE DATABASE {database};" in init_sql
    assert any(v.endswith(":/docker-entrypoint-initdb.d:ro") for v in svc["postgres"]["volumes"])


def test_the_demo_profile_adds_the_sandbox_and_points_the_connections_at_it() -> None:
    # The demo file sets the connections' URLs; the shell sets the rest (and would win).
    shell = {k: v for k, v in REQUIRED.items() if k != "CROSSDOCK_ZENDESK_URL"}
    svc = services("--env-file", str(DEPLOY / "demo.env"), "--profile", "demo", env=shell)
    assert "sandbox" in svc
    assert svc["sandbox"]["command"][:2] == ["crossdock", "sandbox"]
    assert "0.0.0.0" in svc["sandbox"]["command"]
    env = svc["worker"]["environment"]
    assert env["CROSSDOCK_HUBSPOT_URL"] == env["CROSSDOCK_ZENDESK_URL"] == "http://sandbox:8765"


def test_a_missing_password_is_named() -> None:
    result = compose_config(env={k: v for k, v in REQUIRED.items() if k != "POSTGRES_PASSWORD"})
    assert result.returncode != 0 and "set POSTGRES_PASSWORD" in result.stderr


def test_the_image_holds_the_production_workspace_on_postgresql() -> None:
    """Without Docker: the workspace the Dockerfile copies loads, and keeps nothing in SQLite."""
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "COPY docs/deploy/crossdock.yaml /workspace/crossdock.yaml" in dockerfile
    assert "-c requirements.lock" in dockerfile
    text = (DEPLOY / "crossdock.yaml").read_text()
    assert "sqlite" not in text.lower()
    workspace = load_workspace(DEPLOY / "crossdock.yaml")
    for connection in workspace.connections.values():
        assert connection.destination.config["url"] == "${env:CROSSDOCK_WAREHOUSE_URL}"
