"""Namesakes are not one person (issue 19, point 9: two different seeded "Gus Green", different
email, phone and company, joined at p 0.9003 against a 0.9 threshold).

One CRM holds each seeded person once, so every pair is two people. Its name block has
hardly any true duplicates; EM's "match" class there is namesakes, who disagree on email
and phone, so it learned m(email differs) = 0.999: a different email and a different
phone weighed nothing, and names plus a city cleared the threshold (Elif Scott and Eli
Scott of Oslo at 0.9001). An identifier's m is no longer learned from such a class.
"""

from __future__ import annotations

from hub.identity import IdentityConfig, MatchConfig, MatchField, stitch
from hub.identity.lookup import field_evidence
from hub.sandbox.people import generate

# The workspace's match section (crossdock.yaml): no term frequencies.
CONFIG = IdentityConfig(
    match=MatchConfig(
        fields=(
            MatchField(field="email", compare="exact"),
            MatchField(field="phone", compare="exact"),
            MatchField(field="first_name", compare="name"),
            MatchField(field="last_name", compare="name"),
            MatchField(field="city", compare="name"),
            MatchField(field="country", compare="exact"),
        ),
        blocking=(("last_name", "first_name:1"), ("email",), ("phone",)),
    )
)


def crm_records(seed: int, people: int) -> list[dict[str, object]]:
    found, _ = generate(seed, people)
    return [
        {
            "source": "hubspot",
            "source_id": str(p.index + 1),
            "email": p.email,
            "phone": p.phone or None,
            "first_name": p.first,
            "last_name": p.last,
            "city": p.city,
            "country": p.country,
        }
        for p in found
    ]


def test_namesakes_with_different_emails_and_phones_are_not_merged() -> None:
    records = crm_records(seed=7, people=1500)
    result = stitch(records, CONFIG)
    by_key = {f"{r['source']}:{r['source_id']}": r for r in records}
    merged = [(link.probability, by_key[link.record_a], by_key[link.record_b]) for link in result.match_links]
    assert merged == [], f"different people merged: {merged[:3]}"
    # The evidence: a different email and a different phone now count against a pair.
    assert result.model is not None
    evidence = field_evidence(result.model, [0, 0, 3, 3, 3, 1])
    assert evidence["email"]["bits"] < -1 and evidence["phone"]["bits"] < -1, evidence


def test_a_duplicate_without_identifiers_still_matches_on_name_and_place() -> None:
    records = crm_records(seed=7, people=1500)
    twin = dict(records[0], source_id="dup-1", email=None, phone=None)
    result = stitch([*records, twin], CONFIG)
    linked = {frozenset((link.record_a, link.record_b)) for link in result.match_links + result.review}
    assert frozenset(("hubspot:1", "hubspot:dup-1")) in linked, "the same name and place, nothing against"
