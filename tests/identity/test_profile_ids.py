"""Profile ids stay put: gaining records keeps the id, merges redirect, splits keep the bigger part."""

from __future__ import annotations

from hub.identity import IdentityConfig
from hub.identity.profiles import assign_profile_ids, golden_record
from hub.identity.stitching import profile_id_for


def test_a_new_cluster_is_named_from_its_first_record_key() -> None:
    ids, redirects = assign_profile_ids([["crm:2", "shop:9"], ["crm:1"]], {})
    assert ids == [profile_id_for(["crm:2", "shop:9"]), profile_id_for(["crm:1"])]
    assert redirects == {}


def test_a_profile_keeps_its_id_when_it_gains_records() -> None:
    # The new record sorts first, yet the id does not move to it.
    ids, redirects = assign_profile_ids([["a:0", "crm:1", "crm:2"]], {"crm:1": "p_old", "crm:2": "p_old"})
    assert ids == ["p_old"] and redirects == {}


def test_a_merge_keeps_the_bigger_profile_and_redirects_the_other() -> None:
    previous = {"crm:1": "p_b", "crm:2": "p_b", "shop:1": "p_a"}
    ids, redirects = assign_profile_ids([["crm:1", "crm:2", "shop:1"]], previous)
    assert ids == ["p_b"] and redirects == {"p_a": "p_b"}


def test_a_merge_of_equal_profiles_keeps_the_smaller_id() -> None:
    ids, redirects = assign_profile_ids([["crm:1", "shop:1"]], {"crm:1": "p_b", "shop:1": "p_a"})
    assert ids == ["p_a"] and redirects == {"p_b": "p_a"}


def test_a_split_keeps_the_id_on_the_bigger_part_and_names_the_other_anew() -> None:
    previous = {"crm:1": "p_x", "crm:2": "p_x", "crm:3": "p_x"}
    ids, redirects = assign_profile_ids([["crm:1"], ["crm:2", "crm:3"]], previous)
    assert ids[1] == "p_x"
    assert ids[0] not in ("p_x",) and ids[0].startswith("p_")
    assert redirects == {}


def test_a_derived_id_never_collides_with_an_earlier_one() -> None:
    # crm:1 named the old profile; split off, it must not take that name back.
    old = profile_id_for(["crm:1"])
    ids, _ = assign_profile_ids([["crm:1"], ["crm:2", "crm:3"]], {"crm:1": old, "crm:2": old, "crm:3": old})
    assert ids[1] == old and ids[0] != old


def test_golden_record_survivorship() -> None:
    records = [
        {
            "source": "crm",
            "source_id": "1",
            "email": "a@x.com",
            "first_name": "Ada",
            "city": "Leeds",
            "updated_at": "2024-01-01",
        },
        {
            "source": "shop",
            "source_id": "2",
            "email": "a@x.com",
            "first_name": "Adah",
            "city": "York",
            "updated_at": "2025-01-01",
        },
        {
            "source": "support",
            "source_id": "3",
            "email": "ada@work.com",
            "first_name": None,
            "city": None,
            "updated_at": "2026-01-01",
        },
    ]
    golden = golden_record(records, IdentityConfig())
    assert golden["email"] == "a@x.com"  # most frequent
    assert golden["first_name"] == "Adah"  # most recent non-empty
    assert golden["city"] == "York"
    by_source = golden_record(
        records, IdentityConfig(survivorship={"city": "source_priority"}, source_priority=("crm", "shop"))
    )
    assert by_source["city"] == "Leeds"
