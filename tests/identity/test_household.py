"""A household's landline is evidence that people live together, not that they are one
person: it links (and agrees in matching) only between records of alike first names."""

from __future__ import annotations

import random

from hub.identity import IdentifierRule, IdentityConfig, stitch

LANDLINE = "(212) 555-0147"


def rec(source: str, source_id: str, **fields: object) -> dict[str, object]:
    return {"source": source, "source_id": source_id, "city": "Springfield", "country": "US", **fields}


def household() -> list[dict[str, object]]:
    """Mary and John Smith share a landline; Mary is in three systems (once with a typo)."""
    return [
        rec("crm", "m1", first_name="Mary", last_name="Smith", email="mary@example.org", phone=LANDLINE),
        rec("shop", "m2", first_name="Mary", last_name="Smith", phone="212.555.0147"),
        rec("loyalty", "m3", first_name="Mray", last_name="Smith", phone="+1 212 555 0147"),
        rec("crm", "j1", first_name="John", last_name="Smith", email="john@example.org", phone=LANDLINE),
        rec("shop", "j2", first_name="John", last_name="Smith", phone="2125550147"),
    ]


def clusters(records: list[dict[str, object]]) -> list[list[str]]:
    return stitch(records, IdentityConfig().fitted_to(records)).clusters()


def test_a_shared_landline_links_each_person_but_not_the_household() -> None:
    result = stitch(household(), IdentityConfig().fitted_to(household()))
    assert result.clusters() == [["crm:j1", "shop:j2"], ["crm:m1", "loyalty:m3", "shop:m2"]]
    # The decision is explained: which value, which names.
    reasons = [r.reason for r in result.refusals if r.via == "phone:+12125550147"]
    assert reasons and all("household phone +12125550147" in r for r in reasons)
    assert any("'john'" in r and "'mary'" in r for r in reasons)
    # In matching the landline is no evidence between them (missing), not an agreement.
    scored = {(link.record_a, link.record_b): link for link in result.scored_links()}
    phone = result.model.fields.index("phone")  # type: ignore[union-attr]
    for (a, b), link in scored.items():
        if {a[-2], b[-2]} == {"m", "j"}:
            assert link.levels[phone] == -1, link


def test_the_result_does_not_depend_on_record_order() -> None:
    records = household()
    expected = clusters(records)
    for seed in range(3):
        random.Random(seed).shuffle(records)
        assert clusters(records) == expected


def test_a_phone_of_one_person_in_several_spellings_still_links() -> None:
    records = [r for r in household() if r["source_id"] in ("m1", "m2", "m3")]
    assert clusters(records) == [["crm:m1", "loyalty:m3", "shop:m2"]]


def test_a_nickname_on_a_household_phone_still_links_by_the_email() -> None:
    records = household() + [
        rec("support", "j3", first_name="Jack", last_name="Smith", email="john@example.org", phone=LANDLINE)
    ]
    assert ["crm:j1", "shop:j2", "support:j3"] in clusters(records)


def test_without_household_by_every_holder_of_a_phone_is_one_person() -> None:
    """What the default guards against: the landline's agreement outweighs two first names."""
    config = IdentityConfig(
        identifiers=(
            IdentifierRule(type="email", field="email", normalize="email"),
            IdentifierRule(type="phone", field="phone", normalize="phone", max_per_profile=3),
        )
    ).fitted_to(household())
    result = stitch(household(), config)
    assert result.clusters() == [["crm:j1", "crm:m1", "loyalty:m3", "shop:j2", "shop:m2"]]
