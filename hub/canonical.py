"""The canonical entities every mapping targets, defined in one place.

An entity is a table of typed fields. Types are the small set the mapping
engine validates and the SQL destination knows how to store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = ["FieldType", "CanonicalField", "Entity", "ENTITIES", "PERSON_ENTITIES", "get_entity"]

FieldType = Literal["string", "integer", "number", "boolean", "datetime", "json"]


@dataclass(frozen=True)
class CanonicalField:
    name: str
    type: FieldType
    required: bool = False
    description: str = ""
    # Personal data: masked in dead letters and error messages (a mapping may override).
    pii: bool = False


@dataclass(frozen=True)
class Entity:
    name: str
    key: tuple[str, ...]
    fields: tuple[CanonicalField, ...] = field(default_factory=tuple)

    def field_map(self) -> dict[str, CanonicalField]:
        return {f.name: f for f in self.fields}


def _f(
    name: str, type_: FieldType, required: bool = False, description: str = "", pii: bool = False
) -> CanonicalField:
    return CanonicalField(name, type_, required, description, pii)


# `source` + `source_id` identify the record in the system it came from; the
# pair is the merge key, so replays and re-syncs never duplicate a record.
_ORIGIN = (
    _f("source", "string", True, "connector the record came from, e.g. hubspot"),
    _f("source_id", "string", True, "the record's id in that system"),
)

_PERSON = (
    _f("contact_id", "string", description="the person's id in the same system"),
    _f("email", "string", description="normalised: trimmed, lower case", pii=True),
    _f("phone", "string", description="E.164", pii=True),
)

ENTITIES: dict[str, Entity] = {
    "contact": Entity(
        "contact",
        key=("source", "source_id"),
        fields=_ORIGIN
        + (
            _f("email", "string", description="normalised: trimmed, lower case", pii=True),
            _f("phone", "string", description="E.164", pii=True),
            _f("first_name", "string", pii=True),
            _f("last_name", "string", pii=True),
            _f("company_id", "string", description="source id of the contact's account"),
            _f("lifecycle_stage", "string"),
            _f("country", "string"),
            _f("city", "string"),
            # Identity compares these when they have values (hub/identity/config.py defaults).
            _f("date_of_birth", "string", description="YYYY-MM-DD", pii=True),
            _f("address", "string", description="street address, one line", pii=True),
            _f("postcode", "string", description="postal or ZIP code", pii=True),
            _f("created_at", "datetime"),
            _f("updated_at", "datetime", True),
            _f("archived", "boolean"),
        ),
    ),
    "account": Entity(
        "account",
        key=("source", "source_id"),
        fields=_ORIGIN
        + (
            _f("name", "string", description="may be missing in the source (HubSpot allows it)"),
            _f("domain", "string", description="lower case, no scheme or www."),
            _f("industry", "string"),
            _f("phone", "string", description="E.164"),
            _f("country", "string"),
            _f("city", "string"),
            _f("employees", "integer"),
            _f("annual_revenue", "number"),
            _f("created_at", "datetime"),
            _f("updated_at", "datetime", True),
            _f("archived", "boolean"),
        ),
    ),
    # Things that happen to a person. Each names its person the same way - `contact_id`
    # (the person's id in the same system), `email`, `phone` - so that identity
    # stitching can put it on the right profile's timeline.
    "ticket": Entity(
        "ticket",
        key=("source", "source_id"),
        fields=_ORIGIN
        + _PERSON
        + (
            _f("subject", "string", pii=True),
            _f("status", "string"),
            _f("priority", "string"),
            _f("channel", "string"),
            _f("created_at", "datetime"),
            _f("updated_at", "datetime", True),
        ),
    ),
    "order": Entity(
        "order",
        key=("source", "source_id"),
        fields=_ORIGIN
        + _PERSON
        + (
            _f("order_number", "string"),
            _f("total", "number"),
            _f("currency", "string"),
            _f("status", "string", description="financial status, e.g. paid, refunded"),
            _f("created_at", "datetime"),
            _f("updated_at", "datetime", True),
        ),
    ),
    "email_event": Entity(
        "email_event",
        key=("source", "source_id"),
        fields=_ORIGIN
        + _PERSON
        + (
            _f("event", "string", True, "sent, open, click, bounce, unsubscribe"),
            _f("campaign_id", "string"),
            _f("list_id", "string"),
            _f("occurred_at", "datetime", True),
        ),
    ),
    "social_interaction": Entity(
        "social_interaction",
        key=("source", "source_id"),
        fields=_ORIGIN
        + _PERSON
        + (
            _f("event", "string", True, "comment, reaction, message"),
            _f("author_name", "string", pii=True),
            _f("post_id", "string"),
            _f("text", "string", pii=True),
            _f("occurred_at", "datetime", True),
        ),
    ),
    "consent": Entity(
        "consent",
        key=("source", "source_id"),
        fields=_ORIGIN
        + _PERSON
        + (
            _f("purpose", "string", True),
            _f("event", "string", True, "granted, withdrawn, expired, pending or not_given"),
            _f("occurred_at", "datetime", True),
        ),
    ),
    "inventory_item": Entity(
        "inventory_item",
        key=("source", "source_id"),
        fields=_ORIGIN
        + (
            _f("sku", "string", description="the stock-keeping unit, shared across systems"),
            _f("item_id", "string", description="the item's id in the system (Shopify: the inventory item)"),
            _f("title", "string"),
            _f("location_id", "string", description="where the stock is, in the system's ids"),
            _f("available", "integer", True, "units available to sell"),
            _f("updated_at", "datetime"),
        ),
    ),
    "product": Entity(
        "product",
        key=("source", "source_id"),
        fields=_ORIGIN
        + (
            _f("title", "string"),
            _f("vendor", "string"),
            _f("product_type", "string"),
            _f("status", "string", description="e.g. active, draft, archived"),
            _f("variants", "json", description="the sellable variants: id, sku, price, item id"),
            _f("created_at", "datetime"),
            _f("updated_at", "datetime", True),
        ),
    ),
    "ticket_comment": Entity(
        "ticket_comment",
        key=("source", "source_id"),
        fields=_ORIGIN
        + _PERSON
        + (
            _f("ticket_id", "string", description="source id of the ticket"),
            _f("event", "string", True, "public_comment or internal_note"),
            _f("body", "string", pii=True),
            _f("occurred_at", "datetime", True),
        ),
    ),
    "satisfaction_rating": Entity(
        "satisfaction_rating",
        key=("source", "source_id"),
        fields=_ORIGIN
        + _PERSON
        + (
            _f("ticket_id", "string", description="source id of the rated ticket"),
            _f("event", "string", True, "the score: good, bad, offered"),
            _f("comment", "string", pii=True),
            _f("reason", "string"),
            _f("occurred_at", "datetime", True),
        ),
    ),
    "deal": Entity(
        "deal",
        key=("source", "source_id"),
        fields=_ORIGIN
        + (
            _f("name", "string"),
            _f("amount", "number"),
            _f("stage", "string"),
            _f("pipeline", "string"),
            _f("close_date", "datetime"),
            _f("owner_id", "string", description="source id of the owner (a CRM user)"),
            _f("account_id", "string", description="source id of the deal's account"),
            _f("created_at", "datetime"),
            _f("updated_at", "datetime", True),
        ),
    ),
    "owner": Entity(
        "owner",
        key=("source", "source_id"),
        fields=_ORIGIN
        + (
            _f("email", "string", description="a staff address, not a customer's", pii=True),
            _f("first_name", "string", pii=True),
            _f("last_name", "string", pii=True),
            _f("archived", "boolean"),
            _f("updated_at", "datetime"),
        ),
    ),
    "page_metric": Entity(
        "page_metric",
        key=("source", "source_id"),
        fields=_ORIGIN
        + (
            _f("metric", "string", True, "e.g. page_impressions"),
            _f("period", "string", description="day, week, days_28"),
            _f("value", "json", description="the day's value: a number, or an object for breakdowns"),
            _f("end_time", "datetime", True, "the end of the day the value counts (Graph's end_time)"),
        ),
    ),
    "email_list": Entity(
        "email_list",
        key=("source", "source_id"),
        fields=_ORIGIN
        + (
            _f("name", "string"),
            _f("member_count", "integer", description="members as the tool counts them"),
            _f("created_at", "datetime"),
        ),
    ),
    "campaign": Entity(
        "campaign",
        key=("source", "source_id"),
        fields=_ORIGIN
        + (
            _f("list_id", "string", description="source id of the list it went to"),
            _f("name", "string", description="the campaign's title in the tool"),
            _f("subject", "string"),
            _f("kind", "string", description="regular, plaintext, rss, ..."),
            _f("status", "string", description="save, sending, sent, ..."),
            _f("emails_sent", "integer"),
            _f("sent_at", "datetime"),
        ),
    ),
    "location": Entity(
        "location",
        key=("source", "source_id"),
        fields=_ORIGIN
        + (
            _f("name", "string"),
            _f("active", "boolean"),
            _f("country", "string"),
            _f("updated_at", "datetime"),
        ),
    ),
    # A product offered to one person (a recommendation table in the warehouse), sent by a
    # write-back to the CRM or email tool; held back while its stock is low (docs/governance.md).
    "offer": Entity(
        "offer",
        key=("source", "source_id"),
        fields=_ORIGIN
        + _PERSON
        + (
            _f("sku", "string", True, "the offered variant's SKU (its stock decides whether it goes)"),
            _f("product_id", "string", description="the product's id in the shop"),
            _f("collection", "string", description="the collection the offer comes from"),
            _f("title", "string"),
            _f("updated_at", "datetime"),
        ),
    ),
}


# Entities whose rows are about one person: consent, residency and erasure speak about them
# (the govern step, the read API); the rest (companies, deals, posts, stock) is business data.
PERSON_ENTITIES = frozenset(
    {
        "contact",
        "ticket",
        "order",
        "email_event",
        "social_interaction",
        "consent",
        "satisfaction_rating",
        "ticket_comment",
        "offer",
    }
)


def get_entity(name: str) -> Entity:
    try:
        return ENTITIES[name]
    except KeyError:
        known = ", ".join(sorted(ENTITIES))
        raise KeyError(f"unknown canonical entity `{name}`; known: {known}") from None
