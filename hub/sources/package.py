"""Any Airbyte source published as a Python package, run as its own program.

Connector packages pin their own airbyte-cdk (airbyte-source-faker 7 wants
airbyte-cdk < 7; we run 7.x), so each gets its own virtualenv under
`.crossdock/connectors/<package>/`, installed on first use, and runs as the
Airbyte protocol says: `source-x spec | check | discover | read` with JSON
files, one Airbyte message per line on stdout.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Generator, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import orjson

from hub.errors import ConfigError, FatalError
from hub.sources.source import LOG, RECORD, STATE, CheckResult, SourceEvent, secret_config_values

if TYPE_CHECKING:
    from hub.apigov.gate import ApiGate

__all__ = ["PackageSource"]

_logger = logging.getLogger("crossdock.source")
_REQUIREMENT = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?P<pin>==[A-Za-z0-9.+!-]+)?$")
_WARNING_LEVELS = {"WARN", "ERROR", "FATAL"}
_INSTALL_TIMEOUT = 900
_READ_AHEAD_BYTES = 64 << 20  # the most of a program's output read ahead of the pipeline


def _read_ahead(pipe: IO[bytes]) -> Generator[bytes, None, None]:
    """The lines of a program's output, read by a thread of their own: the program never
    waits on a full pipe (64 KiB) while the pipeline maps and writes a batch, so the two run
    side by side. At most _READ_AHEAD_BYTES wait (counted in bytes: a program printing one
    line per write gives one small chunk per line)."""
    ready = threading.Condition()
    chunks: deque[bytes] = deque()
    waiting, finished, stop = 0, False, False
    fd = os.dup(pipe.fileno())  # its own: a closed and reused descriptor is never read

    def pump() -> None:
        nonlocal waiting, finished
        try:
            while chunk := os.read(fd, 1 << 20):  # what is there now; the GIL is let go meanwhile
                with ready:
                    while waiting >= _READ_AHEAD_BYTES and not stop:
                        ready.wait(0.2)
                    if stop:
                        return
                    chunks.append(chunk)
                    waiting += len(chunk)
                    ready.notify_all()
        finally:
            os.close(fd)
            with ready:
                finished = True
                ready.notify_all()

    threading.Thread(target=pump, name="package-source-read", daemon=True).start()
    rest = b""
    try:
        while True:
            with ready:
                while not chunks and not finished:
                    ready.wait()
                if not chunks:
                    break
                data = b"".join(chunks)
                chunks.clear()
                waiting = 0
                ready.notify_all()
            lines = (rest + data).split(b"\n")
            rest = lines.pop()
            yield from lines
        if rest:
            yield rest
    finally:
        with ready:
            stop = True
            ready.notify_all()


class PackageSource:
    """One connector package (e.g. `airbyte-source-faker==7.2.1`) with one resolved config."""

    CATALOG_MAX_AGE = 24 * 3600.0  # seconds a discovered catalog is used before discovering again

    def __init__(self, requirement: str, config: Mapping[str, Any], install_root: Path) -> None:
        match = _REQUIREMENT.match(requirement.strip())
        if not match:
            raise ConfigError(
                f"`{requirement}` is not a package requirement; write it as "
                "`airbyte-source-faker` or `airbyte-source-faker==7.2.1`"
            )
        self.requirement, self.package = requirement.strip(), match["name"]
        self.config = dict(config)
        self.venv = install_root / self.package
        self._spec: dict[str, Any] | None = None
        self._catalog_cache: list[dict[str, Any]] | None = None
        self._catalog_kept = False  # the catalog came from disk, not from a discover of this run
        self.gate: ApiGate | None = None

    def govern(self, gate: ApiGate) -> None:
        """Send the package's requests through `gate` while it checks, discovers and reads: it is
        served to the package's process over a local socket (hub/apigov/package_gate.py)."""
        self.gate = gate

    # -- installation ------------------------------------------------------
    def _program(self) -> Path:
        """The connector's executable, installing the package on first use."""
        marker = self.venv / "crossdock-installed.json"
        self.venv.parent.mkdir(parents=True, exist_ok=True)
        # Streams of one connection run in parallel: one installs, the others wait for it.
        with open(self.venv.parent / f"{self.package}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not marker.is_file() or json.loads(marker.read_text())["requirement"] != self.requirement:
                self._install()
                marker.write_text(
                    json.dumps({"requirement": self.requirement, "entry_point": self._entry_point()})
                )
        entry_point: str = json.loads(marker.read_text())["entry_point"]
        return self.venv / "bin" / entry_point

    def _install(self) -> None:
        _logger.warning("installing connector %s into %s (first use)", self.requirement, self.venv)
        steps = [
            [sys.executable, "-m", "venv", "--clear", str(self.venv)],
            [
                str(self.venv / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                self.requirement,
            ],
        ]
        for step in steps:
            try:
                done = subprocess.run(step, capture_output=True, text=True, timeout=_INSTALL_TIMEOUT)
            except subprocess.TimeoutExpired as exc:
                raise ConfigError(
                    f"installing `{self.requirement}` took over "
                    f"{_INSTALL_TIMEOUT} s; is the package index reachable?"
                ) from exc
            if done.returncode != 0:
                tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
                raise ConfigError(
                    f"cannot install connector package `{self.requirement}`: " + " / ".join(tail)
                )

    def _entry_point(self) -> str:
        script = (
            "import importlib.metadata as m, json; "
            f"print(json.dumps([e.name for e in m.distribution({self.package!r}).entry_points"
            " if e.group == 'console_scripts']))"
        )
        out = subprocess.run(
            [str(self.venv / "bin" / "python"), "-c", script], capture_output=True, text=True, check=True
        ).stdout
        names: list[str] = json.loads(out)
        preferred = [n for n in names if n.startswith(("source-", "source_"))]
        if not (preferred or names):
            raise ConfigError(
                f"package `{self.package}` installs no program to run; is it an Airbyte source?"
            )
        return (preferred or names)[0]

    # -- running -----------------------------------------------------------
    @contextmanager
    def _files(self, **documents: Any) -> Iterator[dict[str, str]]:
        """The documents as JSON files only this user can read (the config holds secrets)."""
        with tempfile.TemporaryDirectory(prefix="crossdock-") as tmp:
            paths = {}
            for name, document in documents.items():
                path = Path(tmp) / f"{name}.json"
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(orjson.dumps(document))
                paths[name] = str(path)
            yield paths

    def _messages(self, command: str, **documents: Any) -> Iterator[dict[str, Any]]:
        """Airbyte messages the program prints; FatalError if it fails."""
        program = self._program()
        with ExitStack() as stack:
            files = stack.enter_context(self._files(**documents))
            args = [str(program), command]
            for name, path in files.items():
                args += [f"--{name}", path]
            env = dict(os.environ)
            gated = None
            if self.gate is not None and command != "spec":  # spec reads no API
                from hub.apigov.package_gate import PackageGate

                gated = stack.enter_context(PackageGate(self.gate))
                env.update(gated.env())
            # stderr to a file, not a pipe: a chatty connector must not block on a full pipe
            stderr = tempfile.TemporaryFile()
            proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=stderr, env=env)
            errors: list[str] = []
            stderr_tail: deque[str] = deque(maxlen=5)
            assert proc.stdout is not None
            lines = _read_ahead(proc.stdout)
            try:
                for line in lines:
                    try:
                        message = orjson.loads(line)
                    except orjson.JSONDecodeError:
                        continue  # connectors print the odd non-protocol line; not ours to parse
                    if message.get("type") == "TRACE" and message["trace"].get("error"):
                        error = message["trace"]["error"]
                        errors.append(error.get("message") or error.get("internal_message") or "")
                    yield message
            finally:
                lines.close()  # stops its reading thread
                if proc.poll() is None:
                    proc.kill()  # the reader stopped early
                code = proc.wait()
                stderr.seek(0)
                stderr_tail.extend(stderr.read().decode(errors="replace").splitlines())
                stderr.close()
            if gated is not None and gated.stopped is not None and (code != 0 or errors):
                raise gated.stopped  # the refusal or quota stop, as a declarative source says it
        if code != 0 or errors:
            detail = "; ".join(e for e in errors if e) or " / ".join(stderr_tail)
            raise FatalError(f"connector `{self.package}` {command} failed (exit {code}): {detail}")

    def secret_values(self) -> list[str]:
        return secret_config_values(self.spec(), self.config)

    def spec(self) -> dict[str, Any]:
        """The config's JSON schema; kept beside the installed package (it is the package's,
        not the config's), so a sync launches the program twice (discover, read), not thrice."""
        if self._spec is None:
            marker = self.venv / "crossdock-installed.json"
            installed = json.loads(marker.read_text()) if marker.is_file() else {}
            if installed.get("requirement") == self.requirement and "spec" in installed:
                self._spec = installed["spec"]
        if self._spec is None:
            for message in self._messages("spec"):
                if message.get("type") == "SPEC":
                    self._spec = message["spec"]["connectionSpecification"]
            if self._spec is None:
                raise FatalError(f"connector `{self.package}` printed no spec")
            self._keep_spec(self._spec)
        return self._spec

    def _keep_spec(self, spec: dict[str, Any]) -> None:
        marker = self.venv / "crossdock-installed.json"
        with open(self.venv.parent / f"{self.package}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # the installer writes this file too
            installed = json.loads(marker.read_text())
            if installed.get("requirement") == self.requirement:
                tmp = marker.with_suffix(".tmp")
                tmp.write_text(json.dumps({**installed, "spec": spec}))
                tmp.replace(marker)

    def check(self) -> CheckResult:
        try:
            for message in self._messages("check", config=self.config):
                if message.get("type") == "CONNECTION_STATUS":
                    status = message["connectionStatus"]
                    return CheckResult(status["status"] == "SUCCEEDED", status.get("message") or "ok")
        except FatalError as exc:
            return CheckResult(False, str(exc))
        return CheckResult(False, f"connector `{self.package}` printed no connection status")

    # -- the catalog -------------------------------------------------------
    def _catalog(self) -> list[dict[str, Any]]:
        """The package's catalog for this config. Kept for this source's life (one stream
        job: the cursor check, the schema drift check and the read share it) and on disk
        beside the package for CATALOG_MAX_AGE seconds: a sync launches the program once
        (read), not twice (discover, read), each launch importing the CDK anew."""
        if self._catalog_cache is None:
            self._catalog_cache = self._kept_catalog()
            self._catalog_kept = self._catalog_cache is not None
        if self._catalog_cache is None:
            self._catalog_cache = self._discover_now()
        return self._catalog_cache

    def _discover_now(self) -> list[dict[str, Any]]:
        for message in self._messages("discover", config=self.config):
            if message.get("type") == "CATALOG":
                streams = list(message["catalog"]["streams"])
                self._keep_catalog(streams)
                self._catalog_kept = False
                return streams
        raise FatalError(f"connector `{self.package}` printed no catalog")

    def _catalog_file(self) -> Path:
        # A hash of the config (not the config: it holds secrets) names the catalog: another
        # config (another account, other options) may have other streams.
        canonical = json.dumps(
            {"requirement": self.requirement, "config": self.config}, sort_keys=True, default=str
        )
        return self.venv / "crossdock-catalogs" / f"{hashlib.sha256(canonical.encode()).hexdigest()}.json"

    def _kept_catalog(self) -> list[dict[str, Any]] | None:
        """The catalog a discover of this package version and config printed less than
        CATALOG_MAX_AGE seconds ago (None: none, too old, or another version installed since)."""
        marker = self.venv / "crossdock-installed.json"
        try:
            if json.loads(marker.read_text()).get("requirement") != self.requirement:
                return None
            kept = json.loads(self._catalog_file().read_text())
        except (OSError, ValueError):
            return None
        if not 0 <= time.time() - kept.get("discovered_at", 0) < self.CATALOG_MAX_AGE:
            return None
        streams: list[dict[str, Any]] = kept["streams"]
        return streams

    def _keep_catalog(self, streams: list[dict[str, Any]]) -> None:
        path = self._catalog_file()
        try:
            path.parent.mkdir(exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")  # streams in parallel write too
            with os.fdopen(fd, "w") as fh:
                json.dump({"discovered_at": time.time(), "streams": streams}, fh)
            os.replace(tmp, path)
        except OSError as exc:  # not kept: the next sync discovers again
            _logger.debug("catalog of %s not kept: %s", self.package, exc)

    def forget_catalog(self) -> None:
        """Discover afresh next time (and keep that): after a failed read, or when asked."""
        self._catalog_cache, self._catalog_kept = None, False
        self._catalog_file().unlink(missing_ok=True)

    def discover(self) -> list[dict[str, Any]]:
        return [
            {
                "name": s["name"],
                "sync_modes": s.get("supported_sync_modes", []),
                "cursor_field": s.get("default_cursor_field") or [],
                "primary_key": s.get("source_defined_primary_key") or [],
                "json_schema": s.get("json_schema", {}),
            }
            for s in self._catalog()
        ]

    def read(self, stream: str, *, incremental: bool, state: dict[str, Any] | None) -> Iterator[SourceEvent]:
        """Events of one stream; raises FatalError when the connector gives up."""
        streams = {s["name"]: s for s in self._catalog()}
        if stream not in streams and self._catalog_kept:  # a kept catalog may be out of date
            self.forget_catalog()
            streams = {s["name"]: s for s in self._catalog()}
        if stream not in streams:
            raise ConfigError(
                f"connector `{self.package}` has no stream `{stream}`; it has: {', '.join(streams)}"
            )
        airbyte_stream = streams[stream]
        mode = (
            "incremental"
            if incremental and "incremental" in airbyte_stream.get("supported_sync_modes", [])
            else "full_refresh"
        )
        catalog = {
            "streams": [
                {
                    "stream": airbyte_stream,
                    "sync_mode": mode,
                    "destination_sync_mode": "append_dedup",
                    "cursor_field": airbyte_stream.get("default_cursor_field") or [],
                    "primary_key": airbyte_stream.get("source_defined_primary_key") or [],
                }
            ]
        }
        documents: dict[str, Any] = {"config": self.config, "catalog": catalog}
        if state and mode == "incremental":
            documents["state"] = [state]
        try:
            yield from self._events(stream, documents)
        except FatalError:
            if self._catalog_kept:  # perhaps the kept catalog is out of date: the next run discovers
                self.forget_catalog()
            raise

    def _events(self, stream: str, documents: dict[str, Any]) -> Iterator[SourceEvent]:
        for message in self._messages("read", **documents):
            kind = message.get("type")
            if kind == "RECORD" and message["record"].get("stream") == stream:
                yield RECORD, message["record"]["data"]
            elif kind == "STATE":
                yield STATE, message["state"]
            elif kind == "LOG" and message["log"].get("level") in _WARNING_LEVELS:
                yield LOG, (message["log"]["level"], message["log"].get("message", ""))
