"""bench/people_zipf.py makes the data the hard cases of issue 18 are about, with the truth kept."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest

from bench.name_tables import NICKNAMES
from bench.people_zipf import JUNK_EMAILS, SYSTEMS, zipf_people
from hub.identity import IdentityConfig
from hub.identity.normalize import normalize_email, normalize_phone

PERSONS = 3000


@pytest.fixture(scope="module")
def records() -> list[dict[str, object]]:
    return list(zipf_people(PERSONS))


def test_same_seed_same_people_and_every_record_names_its_person(records: list[dict[str, object]]) -> None:
    assert list(zipf_people(200)) == [r for r in records if int(r["person"]) < 200]  # type: ignore[call-overload]
    assert len({(r["source"], r["source_id"]) for r in records}) == len(records)
    assert {r["person"] for r in records} == set(range(PERSONS))
    assert {r["source"] for r in records} == set(SYSTEMS)


def test_names_follow_the_real_skew_with_a_long_tail(records: list[dict[str, object]]) -> None:
    surname_of = {r["person"]: r["last_name"] for r in records if r["source"] == "crm"}
    counts = Counter(surname_of.values())
    top, n = counts.most_common(1)[0]
    assert top == "Smith" and n >= 0.005 * len(surname_of)  # ~1% in the US
    assert len(counts) > 0.3 * len(surname_of)  # and most surnames are rare


def test_junk_emails_sit_on_more_unrelated_people_than_the_shared_threshold(
    records: list[dict[str, object]],
) -> None:
    holders = defaultdict(set)
    for r in records:
        if r.get("email") in JUNK_EMAILS:
            holders[r["email"]].add(r["person"])
    threshold = IdentityConfig().shared_threshold
    assert set(holders) == set(JUNK_EMAILS)
    assert all(len(people) > threshold for people in holders.values()), holders


def test_every_phone_spelling_normalises_and_households_share_a_landline(
    records: list[dict[str, object]],
) -> None:
    people_on = defaultdict(set)
    raw_spellings = set()
    for r in records:
        if "phone" in r:
            raw_spellings.add(type(r["phone"]).__name__ + ("(" if "(" in str(r["phone"]) else ""))
            e164 = normalize_phone(r["phone"], "US")
            assert e164 is not None, r["phone"]
            people_on[e164].add(r["person"])
    assert {"int", "str", "str("} <= raw_spellings
    assert any(len(p) >= 2 for p in people_on.values())  # a landline several people answer
    assert all(len(p) <= 5 for p in people_on.values())  # ... within one household


def test_nicknames_typos_and_name_only_records_are_there(records: list[dict[str, object]]) -> None:
    firsts = defaultdict(set)
    for r in records:
        firsts[r["person"]].add(r["first_name"])
    nicknamed = sum(1 for names in firsts.values() if any(set(NICKNAMES.get(n, ())) & names for n in names))
    varied = sum(1 for names in firsts.values() if len(names) > 1)
    assert nicknamed > 20 and varied > nicknamed
    name_only = [r for r in records if set(r) == {"source", "source_id", "person", "first_name", "last_name"}]
    assert any(r["source"] == "newsletter" for r in name_only)


def test_a_real_mailbox_belongs_to_one_person(records: list[dict[str, object]]) -> None:
    owners = defaultdict(set)
    for r in records:
        email = normalize_email(r.get("email"))
        if email and email not in JUNK_EMAILS:
            owners[email].add(r["person"])
    assert all(len(p) == 1 for p in owners.values())
