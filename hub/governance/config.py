"""crossdock.yaml `governance:`: purposes, regions, consent rules, PII per destination,
stock thresholds for offers, retention (hub/governance/retention.py) and the systems erasure
asks (hub/governance/erasure.py).

The block is data (STYLE.md habit 6): loaded and validated once, then compiled into
policies (hub/governance/policies.py). Cross-references (a destination's purpose, a
PII rule's field, a region a rule sends to) are checked by `governance_problems`, which
the workspace loader turns into file:line errors before anything is read or sent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from hub.governance.retention import RetentionConfig

__all__ = [
    "ConsentStatus",
    "CONSENT_STATUSES",
    "PiiAction",
    "PurposeRule",
    "RegionRule",
    "ConsentSource",
    "ErasureConfig",
    "ErasureSystem",
    "StockRule",
    "GovernanceConfig",
    "governance_problems",
]

_NAME = r"^[a-z][a-z0-9_]*$"
ConsentStatus = Literal["granted", "withdrawn", "expired", "pending", "not_given"]
CONSENT_STATUSES: tuple[ConsentStatus, ...] = get_args(ConsentStatus)
PiiAction = Literal["keep", "hash", "tokenise", "mask", "drop"]
_OPT_IN = frozenset({"granted"})
_OPT_OUT = frozenset(s for s in CONSENT_STATUSES if s != "withdrawn")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PurposeRule(_Strict):
    """A hub purpose and the consent-system purposes that serve it (lower case, as the
    onetrust/purpose_consents mapping writes them). `consent: none`: the purpose needs no
    consent (a contract, a legitimate interest: support, the hub's own warehouse)."""

    consent: list[str] | Literal["none"] = Field(
        description="OneTrust purposes (lower case) whose latest decision rules this purpose, or `none`"
    )


class RegionRule(_Strict):
    """Where a person lives decides the consent rule and where their data may go."""

    countries: list[str] = Field(default_factory=list, description="country names or ISO codes")
    consent: Literal["opt_in", "opt_out"] = Field(
        default="opt_in", description="opt_in: only `granted` allows; opt_out: all but `withdrawn`"
    )
    allow: list[ConsentStatus] | None = Field(
        default=None, description="override: the latest statuses that allow sending"
    )
    send_to: list[str] = Field(description="destination regions this person's data may go to")

    @property
    def allowed_statuses(self) -> frozenset[str]:
        if self.allow is not None:
            return frozenset(self.allow)
        return _OPT_IN if self.consent == "opt_in" else _OPT_OUT

    @property
    def allow_missing(self) -> bool:
        """No consent recorded at all: opt-out allows, opt-in does not."""
        return self.consent == "opt_out"


class ConsentSource(_Strict):
    """The synced stream (mapped to the `consent` entity) whose rows are the consents."""

    connection: str
    stream: str


_Level = Annotated[int, Field(ge=0, strict=True)]  # a stock level: a whole number, 0 or more


class StockRule(_Strict):
    """`governance.stock:`: an offer (canonical `offer` rows) for a SKU whose available stock,
    summed over locations from the latest inventory sync, is below its threshold is held back.
    The threshold: the SKU's (or its product id's) under `products`, else the offer's
    collection's under `collections`, else `default`."""

    inventory: ConsentSource = Field(description="the synced inventory_item stream: {connection, stream}")
    catalog: ConsentSource | None = Field(
        default=None,
        description="the synced product stream whose variants name each inventory item's SKU "
        "(Shopify inventory levels carry no SKU); not needed when the inventory rows have `sku`",
    )
    default: _Level = Field(default=1, description="threshold for offers no other rule names")
    collections: dict[str, _Level] = Field(default_factory=dict, description="collection -> threshold")
    products: dict[str, _Level] = Field(default_factory=dict, description="SKU or product id -> threshold")

    def threshold(self, sku: str, product_id: str | None, collection: str | None) -> tuple[int, str]:
        """(threshold, the rule that set it): product beats collection beats default."""
        for key in (sku, product_id):
            if key is not None and key in self.products:
                return self.products[key], f"stock.product.{key}"
        if collection is not None and collection in self.collections:
            return self.collections[collection], f"stock.collection.{collection}"
        return self.default, "stock.default"


class ErasureSystem(_Strict):
    """A SaaS system the hub reads people from, asked to delete them by `crossdock erase`
    through a write-back connector's deletion call (connectors/<type>/writeback.py)."""

    type: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="a write-back connector")
    config: dict[str, Any] = Field(default_factory=dict)


class ErasureConfig(_Strict):
    """`governance.erasure:`: the systems to ask besides every write-back connection."""

    systems: dict[str, ErasureSystem] = Field(default_factory=dict)


class GovernanceConfig(_Strict):
    # The policies of the govern step are on once `purposes` are declared (`governs`);
    # retention and erasure work with or without them.
    purposes: dict[str, PurposeRule] = Field(default_factory=dict)
    regions: dict[str, RegionRule] = Field(default_factory=dict)
    # A person whose country no region lists: `strictest` (every region's rule at once) or
    # the name of the region to treat them as.
    unknown_region: str = "strictest"
    consents: ConsentSource | None = Field(
        default=None, description="where consents are read: {connection, stream}"
    )
    # connection -> canonical field -> action; fields not listed are kept.
    pii: dict[str, dict[str, PiiAction]] = Field(default_factory=dict)
    stock: StockRule | None = Field(default=None, description="offers held back while stock is low")
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    erasure: ErasureConfig = Field(default_factory=ErasureConfig)
    _country_index: dict[str, str] = PrivateAttr(default_factory=dict)
    _strictest: RegionRule | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _names(self) -> GovernanceConfig:
        import re

        for name in [*self.purposes, *self.regions]:
            if not re.match(_NAME, name):
                raise ValueError(f"`{name}`: purpose and region names are lower_snake_case")
        return self

    @property
    def governs(self) -> bool:
        """Whether the govern step applies policies (a `governance:` block may hold only retention)."""
        return bool(self.purposes)

    def region_of(self, country: str | None) -> str | None:
        """The region whose countries list `country` (names or codes, any case); None: unknown."""
        if not country:
            return None
        return self._countries.get(country.strip().lower())

    @property
    def _countries(self) -> dict[str, str]:
        if not self._country_index:
            self._country_index = {
                c.strip().lower(): r for r, rule in self.regions.items() for c in rule.countries
            }
        return self._country_index

    def rule_for(self, region: str | None) -> RegionRule:
        """The rule a person of `region` follows; unknown: the configured region or the strictest."""
        if region is not None and region in self.regions:
            return self.regions[region]
        if self.unknown_region != "strictest":
            return self.regions[self.unknown_region]
        if self._strictest is None:  # per row on the hot path: computed once
            self._strictest = self.strictest()
        return self._strictest

    def strictest(self) -> RegionRule:
        rules = list(self.regions.values())
        allow = frozenset.intersection(*(r.allowed_statuses for r in rules)) if rules else frozenset()
        send_to = set.intersection(*(set(r.send_to) for r in rules)) if rules else set()
        opt_out = all(r.allow_missing for r in rules) and bool(rules)
        return RegionRule(
            consent="opt_out" if opt_out else "opt_in",
            allow=[s for s in CONSENT_STATUSES if s in allow],
            send_to=sorted(send_to),
        )

    def fingerprint(self) -> str:
        """The hash the audit log records when the policy changes (old and new)."""
        # without a stock rule, the hash is the one recorded before stock rules existed
        dumped = self.model_dump_json(exclude={"stock"} if self.stock is None else None)
        return hashlib.sha256(dumped.encode()).hexdigest()


def governance_problems(
    gov: GovernanceConfig,
    destinations: Mapping[str, tuple[str | None, str | None]],
    entity_fields: Mapping[str, Iterable[str]],
    streams: Mapping[str, Iterable[str]],
) -> list[tuple[tuple[Any, ...], str]]:
    """Every reference the block makes that points nowhere, and every rule that contradicts
    another, as (crossdock.yaml location, message); empty when the policy is sound.

    `destinations`: connection -> (purpose, region) declared on its destination;
    `entity_fields`: connection -> the canonical fields its streams' mappings produce;
    `streams`: connection -> its stream names."""
    problems = _stock_problems(gov, streams)
    if not gov.governs:
        if gov.regions or gov.pii or gov.consents is not None:
            problems.append(
                (("governance",), "policies (`regions`, `pii`, `consents`) need `purposes`: declare them")
            )
        return problems
    if not gov.regions:
        problems.append((("governance", "purposes"), "`purposes` need `regions`: declare at least one"))
    purposes, regions = sorted(gov.purposes), sorted(gov.regions)
    for name, (purpose, region) in destinations.items():
        loc = ("connections", name, "destination")
        if purpose is None:
            problems.append((loc, f"connection `{name}` declares no `purpose`; governed: one of {purposes}"))
        elif purpose not in gov.purposes:
            problems.append(((*loc, "purpose"), f"unknown purpose `{purpose}`; declared: {purposes}"))
        if region is None:
            problems.append((loc, f"connection `{name}` declares no `region`; one of {regions}"))
        elif region not in gov.regions:
            problems.append(((*loc, "region"), f"unknown region `{region}`; declared: {regions}"))
    seen: dict[str, str] = {}
    for rname, rule in gov.regions.items():
        base = ("governance", "regions", rname)
        for country in rule.countries:
            other = seen.setdefault(country.strip().lower(), rname)
            if other != rname:
                problems.append(
                    ((*base, "countries"), f"country `{country}` is in region `{other}` and `{rname}`")
                )
        for target in rule.send_to:
            if target not in gov.regions:
                problems.append(((*base, "send_to"), f"unknown region `{target}`; declared: {regions}"))
        if rule.allow is not None and "withdrawn" in rule.allow:
            problems.append(((*base, "allow"), "a withdrawn consent can never allow sending"))
        if rule.allow is not None and rule.consent == "opt_in" and set(rule.allow) - {"granted"}:
            problems.append(
                (
                    (*base, "allow"),
                    f"`consent: opt_in` allows only `granted`, but `allow` lists {sorted(rule.allow)}; "
                    "write `consent: opt_out` or drop the extra statuses",
                )
            )
    if gov.unknown_region != "strictest" and gov.unknown_region not in gov.regions:
        problems.append(
            (("governance", "unknown_region"), f"unknown region `{gov.unknown_region}`; declared: {regions}")
        )
    for conn, rules in gov.pii.items():
        base = ("governance", "pii", conn)
        if conn not in destinations:
            problems.append((base, f"no connection `{conn}` in this workspace"))
            continue
        known = set(entity_fields.get(conn, ()))
        for field in rules:
            if field not in known:
                problems.append(
                    ((*base, field), f"unknown field `{field}`: `{conn}` maps none; it has {sorted(known)}")
                )
    if gov.consents is not None:
        src = gov.consents
        if src.connection not in streams:
            problems.append((("governance", "consents", "connection"), f"no connection `{src.connection}`"))
        elif src.stream not in set(streams[src.connection]):
            problems.append(
                (
                    ("governance", "consents", "stream"),
                    f"connection `{src.connection}` has no stream `{src.stream}`",
                )
            )
    return problems


def _stock_problems(
    gov: GovernanceConfig, streams: Mapping[str, Iterable[str]]
) -> list[tuple[tuple[Any, ...], str]]:
    """The stock rule's inventory and catalog streams exist (stock needs no `purposes`)."""
    problems: list[tuple[tuple[Any, ...], str]] = []
    if gov.stock is None:
        return problems
    for what, src in (("inventory", gov.stock.inventory), ("catalog", gov.stock.catalog)):
        if src is None:
            continue
        loc = ("governance", "stock", what)
        if src.connection not in streams:
            problems.append(((*loc, "connection"), f"no connection `{src.connection}`"))
        elif src.stream not in set(streams[src.connection]):
            problems.append(((*loc, "stream"), f"connection `{src.connection}` has no stream `{src.stream}`"))
    return problems
