"""Run an airbyte-cdk declarative source and turn its Airbyte messages into events.

`spec`, `check` and `discover` run in process. `read` runs the CDK in a child
forked from the fork server, which already has the CDK loaded (no start-up cost),
and streams compact events back (hub/sources/_child.py).
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterator, Mapping
from functools import partial
from pathlib import Path
from typing import Any

import yaml
from airbyte_cdk.models import (
    AirbyteStateMessage,
    AirbyteStateMessageSerializer,
    ConfiguredAirbyteCatalog,
    ConfiguredAirbyteStream,
    DestinationSyncMode,
    Level,
    Status,
    SyncMode,
    Type,
)
from airbyte_cdk.sources.declarative.concurrent_declarative_source import (
    ConcurrentDeclarativeSource,
)
from airbyte_cdk.sources.declarative.parsers.custom_code_compiler import (
    ENV_VAR_ALLOW_CUSTOM_CODE,
    INJECTED_COMPONENTS_PY,
    INJECTED_COMPONENTS_PY_CHECKSUMS,
)
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from hub.apigov import ApiGate
from hub.apigov.cdk import GateBudget
from hub.errors import ConfigError, FatalError
from hub.redaction import share_with_cdk
from hub.sources._child import CAN_FORK, read_in_child
from hub.sources._forkserver import start_fork_server
from hub.sources._manifest import load_manifest
from hub.sources.source import LOG, RECORD, STATE, CheckResult, SourceEvent, secret_config_values

__all__ = ["DeclarativeSource", "dump_state"]

_logger = logging.getLogger("crossdock.source")
_WARNING_LEVELS = {Level.WARN, Level.ERROR, Level.FATAL}

share_with_cdk()  # the secrets registered before the CDK was loaded


def _quiet_cdk_logging() -> None:
    """Importing the CDK points the root logger at stdout as Airbyte JSON lines, in place of
    its handlers; undo that, and put the hub's log format back (`--log-format json`).

    In process, the CDK's LOG messages reach the pipeline as messages anyway (and
    warnings are logged from there); its own INFO chatter would flood the CLI.
    """
    from airbyte_cdk.logger import AirbyteLogFormatter

    from hub.logs import reapply_log_format

    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler.formatter, AirbyteLogFormatter):
            root.removeHandler(handler)
    logging.getLogger("airbyte").setLevel(logging.WARNING)
    reapply_log_format()


_quiet_cdk_logging()


def _read_events(
    source: DeclarativeSource, stream: str, incremental: bool, state: dict[str, Any] | None
) -> Iterator[SourceEvent]:
    try:
        yield from source._events(stream, incremental, state)
    finally:  # in the reading process (the child), before it tells the parent it is done
        source._flush_api_counts()


def dump_state(message: AirbyteStateMessage) -> dict[str, Any]:
    """A state message as plain JSON, the form the store keeps and `read` takes back."""
    state: dict[str, Any] = AirbyteStateMessageSerializer.dump(message)
    return state


class DeclarativeSource:
    """One connector (a manifest.yaml) with one resolved config."""

    def __init__(self, manifest_path: Path, config: Mapping[str, Any], *, in_child: bool = CAN_FORK) -> None:
        self.manifest_path, self.in_child = manifest_path, in_child
        try:
            self.manifest = load_manifest(manifest_path)
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot load the connector manifest: {exc}", file=str(manifest_path)) from exc
        self.config = dict(config)
        self.gate: ApiGate | None = None
        if in_child:
            start_fork_server()  # its imports overlap ours
        components = manifest_path.parent / "components.py"
        if components.is_file():
            # The CDK loads a connector's components.py only when handed its text.
            text = components.read_text(encoding="utf-8")
            self.config[INJECTED_COMPONENTS_PY] = text
            # md5: the checksum the CDK expects for injected components, not security
            self.config[INJECTED_COMPONENTS_PY_CHECKSUMS] = {"md5": hashlib.md5(text.encode()).hexdigest()}

    def govern(self, gate: ApiGate) -> None:
        """Send every request through `gate` (egress rules, the account's shared budget)."""
        self.gate = gate

    def _source(
        self, catalog: ConfiguredAirbyteCatalog | None = None, state: list[AirbyteStateMessage] | None = None
    ) -> ConcurrentDeclarativeSource:
        manifest = self.manifest
        if INJECTED_COMPONENTS_PY in self.config:  # here, or in the reader process
            os.environ[ENV_VAR_ALLOW_CUSTOM_CODE] = "true"
        if self.gate is not None:  # the hub's budget replaces the manifest's own
            manifest = {k: v for k, v in manifest.items() if k != "api_budget"}
        try:
            source = ConcurrentDeclarativeSource(
                catalog=catalog,
                config=self.config,
                state=state,
                source_config=manifest,
                config_path=str(self.manifest_path),
            )
        except AirbyteTracedException as exc:
            raise ConfigError(
                f"connector config rejected: {exc.message or exc}", file=str(self.manifest_path)
            ) from exc
        # The CDK caches the responses of a substream's parent stream. A malformed or
        # cut-off page is cached too, and every retry then replays it until the stream
        # fails; reading the parent twice costs one small request instead.
        source._constructor._disable_cache = True  # no public switch
        if self.gate is not None:
            # Every requester the factory builds takes this budget: the CDK's session asks it
            # before each request (redirect hops too) and tells it each answer.
            source._constructor._api_budget = GateBudget(self.gate)  # type: ignore[assignment]  # no public switch
        return source

    def secret_values(self) -> list[str]:
        """Config values of the fields the connector's spec marks `airbyte_secret`."""
        spec = (self.manifest.get("spec") or {}).get("connection_specification") or {}
        return secret_config_values(spec, self.config)

    def spec(self) -> dict[str, Any]:
        return self._source().spec(_logger).connectionSpecification

    def check(self) -> CheckResult:
        try:
            status = self._source().check(_logger, self.config)
        except AirbyteTracedException as exc:
            return CheckResult(False, exc.message or str(exc))
        finally:
            self._flush_api_counts()
        return CheckResult(status.status == Status.SUCCEEDED, status.message or "ok")

    def discover(self) -> list[dict[str, Any]]:
        catalog = self._source().discover(_logger, self.config)
        return [
            {
                "name": s.name,
                "sync_modes": [m.value for m in s.supported_sync_modes],
                "cursor_field": s.default_cursor_field or [],
                "primary_key": s.source_defined_primary_key or [],
                "json_schema": s.json_schema,
            }
            for s in catalog.streams
        ]

    def read(self, stream: str, *, incremental: bool, state: dict[str, Any] | None) -> Iterator[SourceEvent]:
        """Events of one stream; raises FatalError when the connector gives up.

        By default the connector runs in a forked child process, so that reading
        (the CDK) and mapping/writing (the pipeline) use two cores instead of
        sharing one interpreter lock.
        """

        events = partial(_read_events, self, stream, incremental, state)
        return read_in_child(events) if self.in_child else events()

    def _flush_api_counts(self) -> None:
        if self.gate is not None:
            self.gate.flush()

    def _events(self, stream: str, incremental: bool, state: dict[str, Any] | None) -> Iterator[SourceEvent]:
        source = self._source()
        streams = {s.name: s for s in source.discover(_logger, self.config).streams}
        if stream not in streams:
            raise ConfigError(
                f"connector has no stream `{stream}`; it has: {', '.join(streams)}",
                file=str(self.manifest_path),
            )
        airbyte_stream = streams[stream]
        mode = (
            SyncMode.incremental
            if incremental and SyncMode.incremental in airbyte_stream.supported_sync_modes
            else SyncMode.full_refresh
        )
        catalog = ConfiguredAirbyteCatalog(
            streams=[
                ConfiguredAirbyteStream(
                    stream=airbyte_stream,
                    sync_mode=mode,
                    destination_sync_mode=DestinationSyncMode.append_dedup,
                    cursor_field=airbyte_stream.default_cursor_field,
                    primary_key=airbyte_stream.source_defined_primary_key,
                )
            ]
        )
        state_messages = [AirbyteStateMessageSerializer.load(state)] if state else None
        reader = self._source(catalog, state_messages)
        errors: list[str] = []
        record, state_type, log_type, trace = Type.RECORD, Type.STATE, Type.LOG, Type.TRACE
        try:
            for message in reader.read(_logger, self.config, catalog, state_messages):
                kind = message.type
                # The protocol: a message of each type carries the part of that name.
                if kind == record:
                    assert message.record is not None
                    yield RECORD, message.record.data
                elif kind == state_type:
                    assert message.state is not None
                    yield STATE, dump_state(message.state)
                elif kind == log_type:
                    assert message.log is not None
                    if message.log.level in _WARNING_LEVELS:
                        yield LOG, (message.log.level.value, message.log.message)
                elif kind == trace:
                    assert message.trace is not None
                    if (error := message.trace.error) is not None:
                        errors.append(error.message or error.internal_message or "")
        except AirbyteTracedException as exc:
            detail = "; ".join(e for e in errors if e) or exc.message or str(exc)
            raise FatalError(f"stream `{stream}` failed in the source: {detail}") from exc
        if errors:
            raise FatalError(f"stream `{stream}` failed in the source: {'; '.join(errors)}")
