"""The write-back destination: diff, batch, send, record each record's result.

Rows arrive mapped to a canonical entity. Each is turned into the API's
payload and compared with the snapshot of what the destination last accepted
under the same match key: unchanged rows cost no API call. Changed rows go out
in batches of the API's own size. A batch the API refuses as a whole is split
until the records at fault are found, so one bad record never fails its
batch-mates. Accepted records update the snapshot in the same transaction as
their results; a rejected record stays out of it and is sent again next run.

In a dry run nothing is sent and nothing is stored: the destination only
counts what it would create, update and delete.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import orjson
from sqlalchemy.engine import Engine

from hub.destinations import TableSpec, WriteMode
from hub.errors import ConfigError, FatalError
from hub.governance.step import WITHDRAW_FIELD
from hub.governance.tombstones import Tombstones
from hub.redaction import redact
from hub.store.models import utcnow
from hub.writeback import state
from hub.writeback.api import BatchRefused, Change, Outcome, WritebackApi

__all__ = ["WritebackDestination", "match_key_hash", "payload_digest"]

log = logging.getLogger("crossdock.writeback")

_SAMPLES = 5  # record refs per action shown by a dry run


def match_key_hash(pseudonym_key: bytes, key: str) -> str:
    """What the snapshot keeps of a match key (an email): a keyed hash, never the value."""
    return hmac.new(pseudonym_key, key.encode(), hashlib.blake2b).hexdigest()[:32]


def payload_digest(payload: dict[str, Any]) -> str:
    """What the snapshot keeps of a sent payload: its hash, to tell a changed row."""
    return hashlib.blake2b(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS), digest_size=16).hexdigest()


class WritebackDestination:
    def __init__(
        self,
        api: WritebackApi,
        *,
        name: str,
        engine: Engine,
        connection: str,
        stream: str,
        run_id: str,
        pseudonym_key: bytes,
        dry_run: bool = False,
        erased: Tombstones | None = None,
    ) -> None:
        self.api, self.name, self.engine = api, name, engine
        self.connection, self.stream, self.run_id = connection, stream, run_id
        self.dry_run = dry_run
        self._key = pseudonym_key
        self._target = f"{connection}/{stream}"
        self._sent: dict[str, str] = {}  # key hash -> payload hash, as last accepted
        self._seen: dict[str, str] = {}  # key hash -> ref of the row that claimed it this run
        self._deletes_held: str | None = None
        self._erased = erased  # people erased (`crossdock erase`): never sent anywhere
        self._skipped_erased = 0
        self._matched = 0  # first sends the destination matched to a record it had: updates
        self.counts = {"create": 0, "update": 0, "delete": 0, "unchanged": 0, "accepted": 0, "rejected": 0}
        self._governed: Counter[str] = Counter()  # consent withdrawals sent / held (hub/governance)
        self._removals: list[tuple[str, Change]] = []  # withdrawn people to delete (no unsubscribe)
        self.samples: dict[str, list[str]] = {"create": [], "update": [], "delete": [], "rejected": []}

    # -- the Destination protocol -------------------------------------------------
    def prepare(self, spec: TableSpec, mode: WriteMode) -> None:
        if mode == "append":
            raise ConfigError(
                f"write-back to {self.name} upserts by match key; use write_mode "
                "`merge` (or `overwrite` to also delete what left the table)",
                key=f"connections.{self.target_key}.write_mode",
            )
        if mode == "overwrite" and not self.api.deletes:
            raise ConfigError(
                f"{self.name} write-back never deletes records; use write_mode `merge`",
                key=f"connections.{self.target_key}.write_mode",
            )
        self._sent = state.load_snapshot(self.engine, self._target)

    def write(self, spec: TableSpec, mode: WriteMode, rows: Sequence[dict[str, Any]]) -> int:
        changes: list[tuple[Change, str, str]] = []
        refused: list[dict[str, object]] = []
        for row in rows:
            if self._erased is not None and self._erased.covers(row):
                self._skipped_erased += 1
                continue
            ref = ":".join(str(row.get(k)) for k in spec.key)
            try:
                key, payload = self.api.prepare(row)
            except ValueError as exc:
                refused.append(self._result(ref, "create", Outcome(False, str(exc))))
                continue
            key_hash = match_key_hash(self._key, key)
            if key_hash in self._seen:
                refused.append(
                    self._result(
                        ref,
                        "create",
                        Outcome(
                            False,
                            f"another row ({self._seen[key_hash]}) has the same match key; "
                            "one destination record cannot take both",
                        ),
                    )
                )
                continue
            self._seen[key_hash] = ref
            if row.get(WITHDRAW_FIELD):  # the govern step: this person withdrew consent
                withdrawn = self._withdrawal(ref, key, key_hash, payload)
                if withdrawn is None:
                    continue
                payload = withdrawn
            payload_hash = payload_digest(payload)
            before = self._sent.get(key_hash)
            if before == payload_hash:
                self.counts["unchanged"] += 1
                continue
            changes.append(
                (Change(ref, key, payload, "update" if before else "create"), key_hash, payload_hash)
            )
        self._count_rejected(refused)
        for change, _, _ in changes:
            self._count(change.action, change.ref)
        if self.dry_run:
            return 0
        state.add_results(self.engine, refused)
        changes = self._with_remote_ids(changes)
        accepted = 0
        for i in range(0, len(changes), self.api.batch_limit):
            accepted += self._send(changes[i : i + self.api.batch_limit])
        self._remove_withdrawn()
        return accepted

    def take_refused(self) -> list[tuple[int, str]]:
        return []  # rejected records are kept as per-record results (`crossdock results`)

    def hold_deletes(self, reason: str) -> None:
        """Rows were lost on the way (dead-lettered): a row we did not see may still be in the
        table, so nothing is deleted this run."""
        self._deletes_held = reason

    def finish(self, spec: TableSpec, mode: WriteMode) -> None:
        self._warn_rejected()
        if mode != "overwrite":
            return  # merge never deletes: a row that left the table stays in the destination
        if self._deletes_held:
            log.warning("%s: no deletes this run: %s", self._target, self._deletes_held)
            return
        gone = [
            sent for sent in state.iter_snapshot(self.engine, self._target) if sent.key_hash not in self._seen
        ]
        changes = [Change(sent.record_ref, "", {}, "delete", sent.remote_id) for sent in gone]
        for change in changes:
            self._count("delete", change.ref)
        if self.dry_run:
            return
        for i in range(0, len(gone), self.api.batch_limit):
            batch = changes[i : i + self.api.batch_limit]
            outcomes = self.api.delete(batch)
            results = [self._result(c.ref, "delete", o) for c, o in zip(batch, outcomes, strict=True)]
            done = [
                sent.key_hash
                for sent, o in zip(gone[i : i + len(batch)], outcomes, strict=True)
                if o.accepted
            ]
            state.drop_snapshot(self.engine, self._target, done, results)
            self._tally(results)

    def abort(self, spec: TableSpec, mode: WriteMode) -> None:
        """Nothing to undo: what the API accepted is in the snapshot, what it did not is not."""

    def close(self) -> None:
        self.api.close()

    def report(self) -> dict[str, Any]:
        """The stream's write-back counts, for the run summary and the audit log."""
        held: dict[str, Any] = {"deletes_held": self._deletes_held} if self._deletes_held else {}
        if self._skipped_erased:
            held["erased_skipped"] = self._skipped_erased
        if self._matched:
            held["matched_existing"] = self._matched
        return {
            "dry_run": self.dry_run,
            **self.counts,
            **held,
            **self._governed,
            "samples": {k: v for k, v in self.samples.items() if v},
        }

    def _withdrawal(
        self, ref: str, key: str, key_hash: str, payload: dict[str, Any]
    ) -> dict[str, Any] | None:
        """What to send for a withdrawn person: nothing if the destination never had them, else
        the connector's unsubscribe / flag payload (diffed as any update), else - when it has
        none but can delete (an ad audience) - a removal, made after this batch's sends."""
        if key_hash not in self._sent:
            self._governed["withheld"] += 1
            return None
        withdrawn = self.api.withdrawal(key, payload)
        if withdrawn is not None:
            self._governed["withdrawn"] += 1
            return withdrawn
        if self.api.deletes:
            self._governed["withdrawn"] += 1
            self._removals.append((key_hash, Change(ref, key, {}, "delete")))
            self._count("delete", ref)
        else:
            self._governed["withheld"] += 1
            log.warning("%s: %s cannot unsubscribe a person; the row is held back", self._target, self.name)
        return None

    def _remove_withdrawn(self) -> None:
        """Delete the withdrawn people the destination holds and cannot unsubscribe."""
        removals, self._removals = self._removals, []
        if not removals:
            return
        ids = state.remote_ids(self.engine, self._target, [k for k, _ in removals])
        for i in range(0, len(removals), self.api.batch_limit):
            batch = [(k, replace(c, remote_id=ids.get(k))) for k, c in removals[i : i + self.api.batch_limit]]
            outcomes = self.api.delete([c for _, c in batch])
            results = [self._result(c.ref, "delete", o) for (_, c), o in zip(batch, outcomes, strict=True)]
            done = [k for (k, _), o in zip(batch, outcomes, strict=True) if o.accepted]
            state.drop_snapshot(self.engine, self._target, done, results)
            self._tally(results)

    # -- sending --------------------------------------------------------------------
    @property
    def target_key(self) -> str:
        return f"{self.connection}.streams.{self.stream}"

    def _send(self, batch: list[tuple[Change, str, str]]) -> int:
        outcomes = self._upsert([c for c, _, _ in batch])
        sent, results = [], []
        for (change, key_hash, payload_hash), outcome in zip(batch, outcomes, strict=True):
            action = change.action
            if action == "create" and outcome.accepted and outcome.existed:
                # never sent by the hub, but the destination had it (matched by its key)
                action = "update"
                self.counts["create"] -= 1
                self.counts["update"] += 1
                self._matched += 1
            results.append(self._result(change.ref, action, outcome, change.key))
            if outcome.accepted:
                sent.append((key_hash, payload_hash, change.ref, outcome.remote_id or change.remote_id))
        state.save_snapshot(self.engine, self._target, self.run_id, sent, results)
        self._tally(results)
        return len(sent)

    def _with_remote_ids(
        self,
        changes: list[tuple[Change, str, str]],
    ) -> list[tuple[Change, str, str]]:
        """Updates carry the destination's id of the record, read from the snapshot."""
        updates = [k for c, k, _ in changes if c.action == "update"]
        if not updates:
            return changes
        ids = state.remote_ids(self.engine, self._target, updates)
        return [
            (replace(c, remote_id=ids.get(k)) if c.action == "update" else c, k, p) for c, k, p in changes
        ]

    def _upsert(self, changes: list[Change]) -> list[Outcome]:
        """Outcomes for `changes`; a batch refused as a whole is halved until the refusal
        lands on single records, which are then rejected with the API's reason."""
        try:
            outcomes = self.api.upsert(changes)
        except BatchRefused as exc:
            if len(changes) == 1:
                return [Outcome(False, str(exc))]
            half = len(changes) // 2
            return self._upsert(changes[:half]) + self._upsert(changes[half:])
        if len(outcomes) != len(changes):  # a connector bug: nothing can be matched up
            raise FatalError(
                f"the {self.name} write-back connector returned {len(outcomes)} "
                f"outcomes for {len(changes)} records"
            )
        return outcomes

    def _result(self, ref: str, action: str, outcome: Outcome, key: str | None = None) -> dict[str, object]:
        reason = outcome.reason
        if reason:
            # The API's words may quote the record's email: the store keeps no match keys.
            reason = redact(reason.replace(key, "<match key>") if key else reason)
        return {
            "run_id": self.run_id,
            "connection": self.connection,
            "stream": self.stream,
            "record_ref": ref,
            "action": action,
            "status": "accepted" if outcome.accepted else "rejected",
            "reason": reason,
            "remote_id": outcome.remote_id,
            "at": utcnow(),
        }

    def _tally(self, results: list[dict[str, object]]) -> None:
        for r in results:
            if r["status"] == "accepted":
                self.counts["accepted"] += 1
            else:
                self._count_rejected([r])

    def _count_rejected(self, results: list[dict[str, object]]) -> None:
        for r in results:
            self.counts["rejected"] += 1
            if len(self.samples["rejected"]) < _SAMPLES:  # the store has them all
                self.samples["rejected"].append(f"{r['record_ref']}: {r['reason']}")

    def _warn_rejected(self) -> None:
        """One line for the run's rejected records, not one per record: the run summary
        shows samples and `crossdock results RUN --rejected` lists them all."""
        rejected = self.counts["rejected"]
        if not rejected:
            return
        where = "" if self.dry_run else f" (`crossdock results {self.run_id} --rejected` lists them)"
        log.warning(
            "%s: %s record(s) %s, e.g. %s%s",
            self._target,
            f"{rejected:,}",
            "cannot be sent" if self.dry_run else "rejected",
            self.samples["rejected"][0],
            where,
        )

    def _count(self, action: str, ref: str) -> None:
        self.counts[action] += 1
        if len(self.samples[action]) < _SAMPLES:
            self.samples[action].append(ref)
