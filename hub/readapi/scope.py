"""What an API key may read: entities, the personal fields it sees, its purposes, its regions.

A scope is data (`--scope entities=profile,order --scope fields=email --scope purposes=newsletter
--scope regions=DE,FR`), parsed and checked once when the key is made and stored with it:

- `entities`: canonical entities (hub/canonical.py) and `profile` (the stitched profiles and their
  timelines). Nothing else is readable.
- `fields`: the personal (pii) fields the key sees: a field name (`email`, any entity), one
  entity's field (`contact.phone`), or `pii` (all of them). Fields the canonical model does
  not mark pii are always shown; a pii field outside `fields` is left out of the answer and
  named in its `_withheld_fields`.
- `purposes`: what the key reads for (OneTrust purposes, e.g. `newsletter`). A person is returned
  only when their latest consent for every one of the key's purposes is `granted`. A key that
  reads people needs one.
- `regions`: country codes; when given, a person (or a row with a `country`) outside them is not
  returned, nor one whose country is unknown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hub.canonical import ENTITIES, PERSON_ENTITIES
from hub.errors import ConfigError

__all__ = ["Scope", "parse_scope", "PROFILE", "pii_fields"]

PROFILE = "profile"
_KINDS = ("entities", "fields", "purposes", "regions")


def pii_fields(entity: str) -> frozenset[str]:
    """The entity's personal fields; a profile's are the contact's its golden record carries."""
    fields = ENTITIES["contact" if entity == PROFILE else entity].fields
    names = frozenset(f.name for f in fields if f.pii)
    if entity == PROFILE:  # not the contact's date of birth or address: a profile has no such column
        from hub.identity.profiles import GOLDEN_FIELDS  # loads the engine: only when a profile is asked

        names &= frozenset(GOLDEN_FIELDS)
    return names


@dataclass(frozen=True)
class Scope:
    entities: frozenset[str]
    fields: frozenset[str] = field(default_factory=frozenset)
    purposes: tuple[str, ...] = ()
    regions: frozenset[str] = field(default_factory=frozenset)

    def reads_people(self) -> bool:
        return bool(self.entities & (PERSON_ENTITIES | {PROFILE}))

    def shows(self, entity: str, name: str) -> bool:
        """Whether a pii field of `entity` is visible to the key."""
        return "pii" in self.fields or name in self.fields or f"{entity}.{name}" in self.fields

    def hidden(self, entity: str) -> frozenset[str]:
        """The entity's pii fields this key does not see."""
        return frozenset(n for n in pii_fields(entity) if not self.shows(entity, n))

    def in_region(self, country: Any) -> bool:
        if not self.regions:
            return True
        return isinstance(country, str) and country.strip().upper() in self.regions

    def to_json(self) -> dict[str, list[str]]:
        return {
            "entities": sorted(self.entities),
            "fields": sorted(self.fields),
            "purposes": list(self.purposes),
            "regions": sorted(self.regions),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Iterable[str]]) -> Scope:
        return cls(
            entities=frozenset(data.get("entities", ())),
            fields=frozenset(data.get("fields", ())),
            purposes=tuple(data.get("purposes", ())),
            regions=frozenset(data.get("regions", ())),
        )

    def describe(self) -> str:
        parts = [f"{k}={','.join(v)}" for k, v in self.to_json().items() if v]
        return " ".join(parts)


def parse_scope(specs: Iterable[str]) -> Scope:
    """A scope from `KIND=A,B` items (repeatable; a kind given twice adds up); every value is
    checked here, so a key with a misspelt entity or field is never made."""
    given: dict[str, list[str]] = {k: [] for k in _KINDS}
    for spec in specs:
        kind, sep, values = spec.partition("=")
        kind = kind.strip().lower()
        if not sep or kind not in given:
            raise ConfigError(
                f"--scope `{spec}`: write KIND=A,B with KIND one of {', '.join(_KINDS)} "
                "(e.g. --scope entities=profile,order)"
            )
        given[kind] += [v.strip() for v in values.split(",") if v.strip()]
    known = set(ENTITIES) | {PROFILE}
    unknown = sorted(set(given["entities"]) - known)
    if unknown:
        raise ConfigError(
            f"--scope entities: unknown {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    if not given["entities"]:
        raise ConfigError("--scope entities=... is required: name what the key may read (e.g. profile)")
    for name in given["fields"]:
        _check_field(name)
    scope = Scope(
        entities=frozenset(given["entities"]),
        fields=frozenset(given["fields"]),
        purposes=tuple(dict.fromkeys(p.lower() for p in given["purposes"])),
        regions=frozenset(r.upper() for r in given["regions"]),
    )
    if scope.reads_people() and not scope.purposes:
        raise ConfigError(
            "a key that reads people (profile, contact or their events) needs --scope purposes=...: "
            "a person is returned only if their consent covers the key's purpose"
        )
    return scope


def _check_field(name: str) -> None:
    if name == "pii":
        return
    entity, dot, field_name = name.rpartition(".")
    if dot:
        if entity != PROFILE and entity not in ENTITIES:
            raise ConfigError(f"--scope fields `{name}`: unknown entity `{entity}`")
        if field_name not in pii_fields(entity):
            raise ConfigError(
                f"--scope fields `{name}`: not a personal field of {entity} "
                f"(those are {', '.join(sorted(pii_fields(entity)))}); other fields are always shown"
            )
        return
    every = {f.name for e in ENTITIES.values() for f in e.fields if f.pii}
    if name not in every:
        raise ConfigError(
            f"--scope fields `{name}`: not a personal field of any entity (those are "
            f"{', '.join(sorted(every))}, or `pii` for all); other fields are always shown"
        )
