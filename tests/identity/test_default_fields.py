"""Defaults that use what the data has: date of birth, postcode and address are compared
when records carry them, and data without them is stitched exactly as before."""

from __future__ import annotations

import numpy as np

from bench.people_zipf import zipf_people
from hub.canonical import ENTITIES
from hub.identity import IdentityConfig, MatchConfig, MatchField, stitch
from hub.identity.config import columns_with_values, default_match

BEFORE = ("email", "phone", "first_name", "last_name", "city", "country")  # the defaults until issue 18
ADDED = ("date_of_birth", "postcode", "address")


def test_the_contact_entity_carries_the_fields_the_defaults_compare() -> None:
    contact = ENTITIES["contact"].field_map()
    for name in ADDED:
        assert contact[name].type == "string" and contact[name].pii, name


def test_without_the_new_fields_the_defaults_are_the_old_ones() -> None:
    records = [
        {"source": "crm", "source_id": "1", "email": "a@b.com", "first_name": "Ann", "last_name": "Lee"}
    ]
    fitted = IdentityConfig().fitted_to(records).match
    assert [f.field for f in fitted.fields] == ["email", "first_name", "last_name"]
    assert fitted.blocking == (("last_name", "first_name:1"), ("email",))
    old = default_match(BEFORE)
    assert [f.field for f in old.fields] == list(BEFORE)
    assert old.blocking == (("last_name", "first_name:1"), ("email",), ("phone",))


def test_without_emails_or_phones_where_people_live_is_compared_too() -> None:
    records = [
        {"first_name": "Ann", "last_name": "Lee", "date_of_birth": "1980-01-02", "postcode": "2000"},
        {"first_name": "Bo", "last_name": "Ng", "address": "  ", "email": None},  # blank is no value
    ]
    config = IdentityConfig().fitted_to(records)
    assert [f.field for f in config.match.fields] == ["first_name", "last_name", "date_of_birth", "postcode"]
    assert ("date_of_birth", "first_name:1") in config.match.blocking
    assert ("postcode", "first_name:1") in config.match.blocking
    assert all("address:4" not in rule for rule in config.match.blocking)  # no address values
    explained = "\n".join(config.explain_match())
    assert "field date_of_birth (date; default)" in explained
    assert "field postcode (code; default; no record has an email or a phone" in explained
    assert "field address: left out, no record has a value" in explained


def test_beside_emails_or_phones_a_household_address_is_not_evidence() -> None:
    records = [{"email": "ann@x.com", "last_name": "Lee", "postcode": "2000", "address": "1 Main St"}]
    config = IdentityConfig().fitted_to(records)
    assert [f.field for f in config.match.fields] == ["email", "last_name"]
    assert "field postcode: left out, compared only when no record has an email or a phone" in (
        config.explain_match()
    )
    # Not looked at the data: the same, place left out.
    assert {f.field for f in IdentityConfig().match.fields}.isdisjoint({"postcode", "address"})


def test_a_match_written_in_the_config_is_kept_as_written() -> None:
    mine = MatchConfig(fields=(MatchField(field="last_name"),), blocking=(("last_name",),))
    config = IdentityConfig(match=mine)
    assert config.fitted_to([{"date_of_birth": "1980-01-02", "last_name": "Lee"}]).match == mine
    assert "crossdock.yaml" in config.explain_match()[0]


def test_nothing_to_block_on_turns_matching_off_instead_of_comparing_every_pair() -> None:
    config = IdentityConfig().fitted_to([{"city": "Leeds"}])
    assert not config.match.enabled


def test_columns_with_values_stops_at_the_first_value_of_each() -> None:
    rows = iter([{"a": 1}, {"b": ""}, {"b": "x"}])
    assert columns_with_values(rows, ["a", "b", "c"]) == {"a", "b"}


def test_data_without_the_new_fields_stitches_as_with_the_old_defaults() -> None:
    records = [{k: v for k, v in r.items() if k not in ("person", *ADDED)} for r in zipf_people(400, seed=3)]
    old = stitch(records, IdentityConfig(match=default_match(BEFORE)))
    new = stitch(records, IdentityConfig())  # date of birth compared and blocked on, but empty
    assert len(old.match_links) > 0  # matching did something to keep equal
    assert np.array_equal(old.labels, new.labels)
    assert IdentityConfig().fitted_to(records).match == default_match(BEFORE)  # and narrowed: the old ones
