"""What every write-back connector shares: its validated config, its secrets, `close`, and a
`delete` that refuses (a connector that can delete overrides it and sets `deletes`)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar

from hub.apigov import ApiGate
from hub.errors import ConfigError
from hub.writeback.api import Change, Held, Outcome
from hub.writeback.config import WritebackConfig, secret_values, validate_config
from hub.writeback.erasure import ErasureOutcome, ErasureSubject
from hub.writeback.http import ApiClient

__all__ = ["WritebackBase"]


class WritebackBase:
    """Subclass it as `Writeback` in connectors/<name>/writeback.py, with `name`, `entity`,
    `batch_limit` and `Config` (a WritebackConfig subclass), then `prepare`, `upsert` and
    `check`. The hub builds it with the validated config (`hub.writeback.load_writeback`)."""

    name: ClassVar[str]
    Config: ClassVar[type[WritebackConfig]] = WritebackConfig
    entity: str
    batch_limit: int
    deletes: bool = False

    def __init__(self, config: WritebackConfig | Mapping[str, Any]) -> None:
        # A plain dict (a test, a script) is validated here, without crossdock.yaml's lines.
        self.config = validate_config(self.Config, config, connector=self.name)
        self._clients: list[ApiClient] = []
        self._gate: ApiGate | None = None

    def client_for(
        self,
        default_url: str,
        *,
        product: str,
        base_url: str | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
    ) -> ApiClient:
        """An HTTP client with the config's retries and timeout, closed by `close()`."""
        client = ApiClient.from_config(
            self.config, default_url, product=product, base_url=base_url, headers=headers, auth=auth
        )
        if self._gate is not None:
            client.govern(self._gate)
        self._clients.append(client)
        return client

    def govern(self, gate: ApiGate) -> None:
        """Every client, made before or after, sends through `gate` (hub/apigov)."""
        self._gate = gate
        for client in self._clients:
            client.govern(gate)

    def secret_values(self) -> list[str]:
        """Every SecretStr of the config: tokens and keys, to redact everywhere."""
        return secret_values(self.config)

    def delete(self, changes: Sequence[Change]) -> list[Outcome]:
        # Only reached if `deletes` and this method disagree: the destination refuses
        # write_mode overwrite for a connector whose `deletes` is False.
        raise ConfigError(f"{self.name} write-back cannot delete; use write_mode merge")

    def erase(self, subject: ErasureSubject) -> ErasureOutcome:
        return ErasureOutcome("unsupported", f"the {self.name} write-back connector has no deletion call")

    def read_back(self) -> Iterator[Held]:
        raise ConfigError(
            f"{self.name} write-back cannot read its records back yet, so it cannot be reconciled "
            "(docs/reconciliation.md lists the connectors that can)"
        )

    def comparable(self, payload: dict[str, Any]) -> dict[str, Any]:
        return payload

    def withdrawal(self, key: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        # A connector that can unsubscribe or flag a person overrides this (hub/governance).
        return None

    def close(self) -> None:
        for client in self._clients:
            client.close()
        self._clients.clear()
