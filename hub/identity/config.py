"""The `identity:` section of crossdock.yaml: what links records and what must never.

Every default here is the behaviour a marketing team can live with: emails and
phones link people, role addresses never do, and a profile that would gather
more than a handful of emails is refused rather than merged.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "IdentifierRule",
    "MatchField",
    "MatchConfig",
    "IdentityConfig",
    "CompareKind",
    "Survivorship",
    "default_match",
    "columns_with_values",
]

CompareKind = Literal["name", "text", "date", "code", "exact"]
Survivorship = Literal["most_recent", "most_frequent", "source_priority"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IdentifierRule(_Strict):
    """A record field whose value identifies a person outright (listed by priority)."""

    type: str = Field(pattern=r"^[a-z_][a-z0-9_]*$", description="email, phone, or an id type")
    field: str = Field(description="the record field holding it")
    normalize: Literal["email", "phone", "id"] = "id"
    max_per_profile: int = Field(default=3, ge=1, description="a merge that would exceed this is refused")
    # A value held by records whose `household_by` field clearly differs (a landline on
    # "Mary Smith" and "John Smith") is a household's, not a person's: it links, and
    # agrees in matching, only between records whose `household_by` values are alike
    # (hub/identity/household.py). None: every holder of a value is one person.
    household_by: str | None = Field(default=None, pattern=r"^[a-z_][a-z0-9_]*$")


class MatchField(_Strict):
    """A field compared for probabilistic matching.

    A field named like an identifier type (email, phone) is compared on its
    normalised value: two different emails are evidence of two people.
    """

    field: str
    compare: CompareKind = "name"
    # Exact agreement on a rare value (a rare surname) weighs more than on a common one.
    term_frequency: bool = False


class MatchConfig(_Strict):
    """Fellegi-Sunter matching for records that share no identifier."""

    enabled: bool = True
    fields: tuple[MatchField, ...] = ()
    # Candidate pairs share every field of at least one rule; "field:3" means the
    # field's first three characters.
    blocking: tuple[tuple[str, ...], ...] = ()
    threshold: float = Field(
        default=0.9, gt=0.0, lt=1.0, description="match probability at or above which records merge"
    )
    review_below: float = Field(
        default=0.5, gt=0.0, lt=1.0, description="pairs in [review_below, threshold) are listed for review"
    )
    # Two records sharing an identifier are not linked by it when everything else
    # says they are different people (match probability below this): a household's
    # phone, a recycled address. 0 turns the veto off.
    veto_below: float = Field(default=0.01, ge=0.0, lt=1.0)
    # A blocking group larger than this is split by further keys, or skipped if still too
    # large (hub/identity/blocking.py): a rule makes at most records * (max - 1) / 2 pairs.
    # 100: at 1M records, F1 as with 500 on both bench generators, and on skewed names
    # (bench/people_zipf.py) 7.4 M pairs instead of 18.5 M (docs/benchmarks.md).
    max_block_size: int = Field(default=100, ge=2)
    link_type: Literal["dedupe_and_link", "link_only"] = "dedupe_and_link"

    @model_validator(mode="after")
    def _consistent(self) -> MatchConfig:
        if self.review_below > self.threshold:
            raise ValueError("review_below must not exceed threshold")
        if self.veto_below > self.review_below:
            raise ValueError("veto_below must not exceed review_below")
        if self.enabled and self.fields and not self.blocking:
            raise ValueError(
                "give at least one blocking rule (e.g. [[last_name, postcode]]); "
                "comparing every pair does not scale"
            )
        known = {f.field for f in self.fields}
        for rule in self.blocking:
            for part in rule:
                name = part.split(":", 1)[0]
                if name not in known:
                    raise ValueError(f"blocking rule field `{name}` is not one of the match fields")
        return self


def _default_identifiers() -> tuple[IdentifierRule, ...]:
    return (
        IdentifierRule(type="email", field="email", normalize="email"),
        IdentifierRule(type="phone", field="phone", normalize="phone", household_by="first_name"),
    )


def _default_survivorship() -> dict[str, Survivorship]:
    return {"email": "most_frequent", "phone": "most_frequent"}


# The default matcher: the canonical contact's fields. Email and phone take part as
# evidence too: two different addresses speak against one person. Pairs sharing one
# train the name and place weights. A date of birth tells household members apart.
_DEFAULT_FIELDS: tuple[MatchField, ...] = (
    MatchField(field="email", compare="exact"),
    MatchField(field="phone", compare="exact"),
    MatchField(field="first_name", compare="name", term_frequency=True),
    MatchField(field="last_name", compare="name", term_frequency=True),
    MatchField(field="city", compare="name", term_frequency=True),
    MatchField(field="country", compare="exact"),
    MatchField(field="date_of_birth", compare="date"),
)
# Where someone lives, compared only when no record has an email or a phone (FEBRL, a
# customer file): then it is the evidence left (FEBRL3 recall 0.84 -> 0.96). Beside
# identifiers it is a household's, not a person's: postcode and street agree for
# everyone at the address and count twice, so spouses merged (bench/people_zipf.py,
# pairwise precision 0.80 -> 0.44; docs/identity.md "Default fields").
_PLACE_FIELDS: tuple[MatchField, ...] = (
    MatchField(field="postcode", compare="code"),
    MatchField(field="address", compare="text"),
)
# Each rule pairs a field with a name initial, so a common value (a birthday, a
# big postcode) is split into blocks of people who could be one person; two
# rules per date, on different initials, so one typo does not lose the pair.
_DEFAULT_BLOCKING: tuple[tuple[str, ...], ...] = (
    ("last_name", "first_name:1"),
    ("email",),
    ("phone",),
    ("date_of_birth", "first_name:1"),
    ("date_of_birth", "last_name:1"),
    ("postcode", "first_name:1"),
    ("postcode", "address:4"),
)
_IDENTIFIER_FIELDS = ("email", "phone")


def default_match(with_values: Collection[str] | None = None) -> MatchConfig:
    """The default match fields and blocking rules for data with values in `with_values`.

    Without `with_values` (the data not looked at): every field but the place ones.
    A field no record has a value in compares as missing on every pair and blocks
    nothing, so leaving it out changes no result, only the work and what
    `explain_match` lists. A blocking rule goes with its fields.
    """
    if with_values is None:
        fields = _DEFAULT_FIELDS
    else:
        place = () if set(_IDENTIFIER_FIELDS) & set(with_values) else _PLACE_FIELDS
        fields = tuple(f for f in _DEFAULT_FIELDS + place if f.field in with_values)
    names = {f.field for f in fields}
    blocking = tuple(r for r in _DEFAULT_BLOCKING if all(p.split(":", 1)[0] in names for p in r))
    if not blocking:  # nothing to block on: no matching, rather than every pair
        return MatchConfig(enabled=False)
    return MatchConfig(fields=fields, blocking=blocking)


def columns_with_values(records: Iterable[Mapping[str, object]], fields: Iterable[str]) -> set[str]:
    """Which of `fields` at least one record has a value in (not None, not blank)."""
    wanted, found = set(fields), set[str]()
    for record in records:
        for f in wanted - found:
            value = record.get(f)
            if value is not None and not (isinstance(value, str) and not value.strip()):
                found.add(f)
        if found == wanted:
            break
    return found


class IdentityConfig(_Strict):
    identifiers: tuple[IdentifierRule, ...] = Field(default_factory=_default_identifiers)
    # Values that are never identity (fnmatch patterns on the normalised value).
    blocked: tuple[str, ...] = (
        "info@*",
        "noreply@*",
        "no-reply@*",
        "test@*",
        "admin@*",
        "sales@*",
        "support@*",
        "hello@*",
        "contact@*",
        "+10000000000",
        "+0*",
    )
    # Region for phone numbers written without a country code (ISO 3166, e.g. US, GB).
    phone_region: str = Field(default="US", pattern=r"^[A-Z]{2}$")
    # An identifier on more records than this is shared (a family phone, a team inbox).
    shared_threshold: int = Field(default=10, ge=2)
    match: MatchConfig = Field(default_factory=default_match)
    # Golden record: how each field's value is chosen among a profile's records.
    survivorship: dict[str, Survivorship] = Field(default_factory=_default_survivorship)
    default_survivorship: Survivorship = "most_recent"
    source_priority: tuple[str, ...] = Field(
        default=(), description="sources, most trusted first, for the source_priority rule"
    )
    # The matcher's memory: DuckDB spills to a temp directory beyond it rather than fail.
    memory_limit: str = Field(default="2GB", pattern=r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$")
    threads: int = Field(default=2, ge=1, le=64, description="DuckDB threads for matching")

    @field_validator("identifiers")
    @classmethod
    def _unique_types(cls, v: tuple[IdentifierRule, ...]) -> tuple[IdentifierRule, ...]:
        types = [r.type for r in v]
        dupes = sorted({t for t in types if types.count(t) > 1})
        if dupes:
            raise ValueError(f"identifier type listed twice: {', '.join(dupes)}")
        return v

    def fitted_to(self, records: Iterable[Mapping[str, object]]) -> Self:
        """This config with the default matcher narrowed to the fields `records` have values in.

        A `match:` written in crossdock.yaml is kept as written. The result is the same
        as the full default's (an empty field is no evidence either way); the narrowed
        one does less work and says which fields were compared (explain_match).
        """
        if not self._default_matcher():
            return self
        present = columns_with_values(records, (f.field for f in _DEFAULT_FIELDS + _PLACE_FIELDS))
        return self.model_copy(update={"match": default_match(present)})

    def explain_match(self) -> list[str]:
        """One line per compared field and blocking rule, and why it is there."""
        source = "default" if self._default_matcher() else "crossdock.yaml `identity.match`"
        if not self.match.enabled or not self.match.fields:
            return [f"matching off ({source}): only identifiers link records"]
        place = {f.field for f in _PLACE_FIELDS}
        why = {f: "; no record has an email or a phone, so where people live is compared" for f in place}
        lines = [f"field {f.field} ({f.compare}; {source}{why.get(f.field, '')})" for f in self.match.fields]
        if source == "default":
            compared = {f.field for f in self.match.fields}
            lines += [
                f"field {f.field}: left out, "
                + (
                    "compared only when no record has an email or a phone"
                    if f.field in place and compared & set(_IDENTIFIER_FIELDS)
                    else "no record has a value"
                )
                for f in _DEFAULT_FIELDS + _PLACE_FIELDS
                if f.field not in compared
            ]
        lines += [f"blocking {' + '.join(rule)} ({source})" for rule in self.match.blocking]
        return lines

    def _default_matcher(self) -> bool:
        """Whether `match` is the default, whole or narrowed to some of its fields."""
        return "match" not in self.model_fields_set or self.match == default_match(
            {f.field for f in self.match.fields}
        )

    def priority(self, type_: str) -> int:
        for i, rule in enumerate(self.identifiers):
            if rule.type == type_:
                return i
        return len(self.identifiers)
