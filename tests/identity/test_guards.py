"""Every merge guard refuses what it should, and says so."""

from __future__ import annotations

from hub.identity import IdentifierRule, IdentityConfig, MatchConfig, MatchField, MatchModel, stitch

NO_MATCHING = MatchConfig(enabled=False)


def person(i: int, **fields: object) -> dict[str, object]:
    return {"source": "crm", "source_id": str(i), **fields}


def test_a_blocked_role_address_never_merges_people() -> None:
    records = [person(i, email="Info@Acme.com", first_name=f"P{i}") for i in range(50)]
    result = stitch(records, IdentityConfig(match=NO_MATCHING))
    assert len(result.clusters()) == 50
    assert result.blocked == {("email", "info@acme.com"): 50}


def test_an_identifier_on_more_records_than_the_threshold_is_shared_not_identity() -> None:
    config = IdentityConfig(shared_threshold=3, match=NO_MATCHING)
    records = [person(i, phone="+14155550100") for i in range(4)]
    records += [person(10, phone="+14155550199"), person(11, phone="+14155550199")]
    result = stitch(records, config)
    assert sorted(map(len, result.clusters())) == [1, 1, 1, 1, 2]
    assert result.evidence.shared == {("phone", "+14155550100"): 4}


def test_a_merge_that_would_exceed_max_per_profile_is_refused_and_recorded() -> None:
    # A chain: four emails joined pairwise by phones. With at most two emails per
    # profile, the merges that would bring a third email are refused.
    config = IdentityConfig(
        identifiers=(
            IdentifierRule(type="email", field="email", normalize="email", max_per_profile=2),
            IdentifierRule(type="phone", field="phone", normalize="phone", max_per_profile=3),
        ),
        match=NO_MATCHING,
    )
    records = [
        person(1, email="a@x.com", phone="+14155550001"),
        person(2, email="b@x.com", phone="+14155550001"),
        person(3, email="b@x.com", phone="+14155550002"),
        person(4, email="c@x.com", phone="+14155550002"),
        person(5, email="d@x.com", phone="+14155550003"),
        person(6, email="c@x.com", phone="+14155550003"),
    ]
    result = stitch(records, config)
    for cluster in result.clusters():
        emails = {r["email"] for r in records if f"crm:{r['source_id']}" in cluster}
        assert len(emails) <= 2, cluster
    assert result.refusals, "the refused merges must be reported"
    assert all("max_per_profile 2" in r.reason for r in result.refusals)


def test_a_probabilistic_match_is_refused_when_it_breaks_a_cap() -> None:
    # Names agree strongly (a fixed model, so the score is known), but each record
    # brings its own email and a profile may hold only one.
    config = IdentityConfig(
        identifiers=(IdentifierRule(type="email", field="email", normalize="email", max_per_profile=1),),
        match=MatchConfig(
            fields=(MatchField(field="first_name"), MatchField(field="last_name")), blocking=(("last_name",),)
        ),
    )
    model = MatchModel(
        fields=["first_name", "last_name"],
        kinds=["name", "name"],
        m=[[0.01, 0.01, 0.08, 0.9]] * 2,
        u=[[0.97, 0.01, 0.01, 0.01]] * 2,
        prior=0.1,
    )
    records = [
        person(0, email="a@x.com", first_name="Ada", last_name="Lovelace"),
        person(1, email="b@x.com", first_name="Ada", last_name="Lovelace"),
        person(2, first_name="Ada", last_name="Lovelace"),
    ]
    result = stitch(records, config, model=model)
    clusters = result.clusters()
    assert not any({"crm:0", "crm:1"} <= set(c) for c in clusters), clusters
    assert result.refusals and all(r.via.startswith("match:") for r in result.refusals)
    assert all("max_per_profile 1" in r.reason for r in result.refusals)
    # The record without an email joins one of them: it breaks no cap.
    assert sorted(map(len, clusters)) == [1, 2]


def test_split_constraints_keep_records_apart_even_when_identifiers_agree() -> None:
    records = [person(1, email="a@x.com"), person(2, email="a@x.com"), person(3, email="a@x.com")]
    records[0]["_constraints"] = [("split1", "out")]
    records[1]["_constraints"] = [("split1", "rest")]
    records[2]["_constraints"] = [("split1", "rest")]
    result = stitch(records, IdentityConfig(match=NO_MATCHING))
    assert result.clusters() == [["crm:1"], ["crm:2", "crm:3"]]


def test_a_record_without_source_is_an_error_naming_it() -> None:
    import pytest

    with pytest.raises(ValueError, match="record 1 has no `source`"):
        stitch([person(1), {"source_id": "2"}], IdentityConfig(match=NO_MATCHING))
