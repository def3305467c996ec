"""What a write-back connector implements, and the values it trades with the hub."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from hub.errors import HubError
from hub.writeback.erasure import ErasureOutcome, ErasureSubject

if TYPE_CHECKING:
    from hub.apigov import ApiGate

__all__ = ["Change", "Outcome", "BatchRefused", "WritebackApi", "Held"]

Action = Literal["create", "update", "delete"]


@dataclass(frozen=True)
class Change:
    """One record to send. `key` is the destination's match key (an email, a SKU):
    sent to the API, never stored; the store keeps only a keyed hash of it."""

    ref: str  # the warehouse row's key, e.g. "crossdock:p_00042"; carries no personal data
    key: str
    payload: dict[str, Any]
    action: Action
    remote_id: str | None = None  # the destination's id, from an earlier accepted write


@dataclass(frozen=True)
class Outcome:
    accepted: bool
    reason: str | None = None  # the API's own words when it rejected the record
    remote_id: str | None = None  # kept so a later delete can name the record
    # The API says it matched a record it already had (True) or made a new one (False);
    # None when it does not say. A first send of someone already there is an update.
    existed: bool | None = None


@dataclass(frozen=True)
class Held:
    """A record as the destination holds it, read back for reconciliation."""

    key: str  # its match key, lower-cased (every supported API matches case-blind)
    remote_id: str | None  # the destination's id, as an accepted write's Outcome carries it
    payload: dict[str, Any]  # its values in the form `prepare` builds; a field with no value left out


class BatchRefused(HubError):
    """The API refused a whole batch because of what some record in it holds (HubSpot
    answers 400 for one invalid email among 100). The hub splits the batch to find it."""


class WritebackApi(Protocol):
    """What the hub calls. Connectors subclass hub.writeback.WritebackBase, which declares
    the config model (`Config`) and gives `secret_values`, `close` and a refusing `delete`."""

    entity: str  # the canonical entity it takes (mapping files target it)
    batch_limit: int  # the API's own maximum per request
    deletes: bool  # can it remove records (write_mode: overwrite mirrors the table)?

    def secret_values(self) -> list[str]:
        """Tokens and keys from its config, to redact everywhere."""

    def check(self) -> str:
        """One authenticated read, nothing written (`crossdock check`): what it proved.
        Raises FatalError (or ConfigError) naming what was refused."""

    def prepare(self, row: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """(match key, API payload) for a mapped row; ValueError(reason) if it cannot be sent."""

    def upsert(self, changes: Sequence[Change]) -> list[Outcome]:
        """Create or update, idempotently (a retried call must not duplicate); one outcome
        per change, in order. Raises BatchRefused when the API refused the batch as a whole."""

    def delete(self, changes: Sequence[Change]) -> list[Outcome]:
        """Remove records (only called when `deletes`); one outcome per change, in order."""

    def erase(self, subject: ErasureSubject) -> ErasureOutcome:
        """Delete the person through the API's own deletion call (right to be forgotten);
        WritebackBase answers `unsupported`. Raises HubError when the API failed."""

    def read_back(self) -> Iterator[Held]:
        """Every record the destination holds where this connector writes (HubSpot's contacts,
        one Mailchimp list's members), for write-back reconciliation (hub/reconcile/writeback.py).
        WritebackBase's refuses with a ConfigError: a connector that can overrides it."""

    def comparable(self, payload: dict[str, Any]) -> dict[str, Any]:
        """A payload (sent or read back) in the form reconcile compares: WritebackBase's is the
        payload itself; a connector whose API stores a value in another form (OneTrust's dates)
        normalises it here, on both sides, without changing what is sent."""

    def withdrawal(self, key: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        """The payload that tells the destination a person withdrew consent (unsubscribe, flag),
        sent as an update of the record it holds; None: it has no such thing (the row is held)."""

    def govern(self, gate: ApiGate) -> None:
        """Send every request through `gate` (egress rules, the account's rate budget)."""

    def close(self) -> None: ...
