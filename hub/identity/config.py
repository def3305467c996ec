"""The `identity:` section of crossdock.yaml: what links records and what must never.

Every default here is the behaviour a marketing team can live with: emails and
phones link people, role addresses never do, and a profile that would gather
more than a handful of emails is refused rather than merged.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["IdentifierRule", "MatchField", "MatchConfig", "IdentityConfig", "CompareKind", "Survivorship"]

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
        IdentifierRule(type="phone", field="phone", normalize="phone"),
    )


def _default_survivorship() -> dict[str, Survivorship]:
    return {"email": "most_frequent", "phone": "most_frequent"}


def _default_match() -> MatchConfig:
    # Email and phone take part as evidence too: two different addresses speak
    # against one person. Pairs sharing one train the name and place weights.
    return MatchConfig(
        fields=(
            MatchField(field="email", compare="exact"),
            MatchField(field="phone", compare="exact"),
            MatchField(field="first_name", compare="name", term_frequency=True),
            MatchField(field="last_name", compare="name", term_frequency=True),
            MatchField(field="city", compare="name", term_frequency=True),
            MatchField(field="country", compare="exact"),
        ),
        blocking=(("last_name", "first_name:1"), ("email",), ("phone",)),
    )


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
    match: MatchConfig = Field(default_factory=_default_match)
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

    def priority(self, type_: str) -> int:
        for i, rule in enumerate(self.identifiers):
            if rule.type == type_:
                return i
        return len(self.identifiers)
