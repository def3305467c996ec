"""Shared junk is not evidence: a value on more than `shared_threshold` records links no one
and counts as neither agreement nor disagreement in the match score."""

from __future__ import annotations

import random

import numpy as np

from hub.identity import IdentityConfig, MatchConfig, MatchField, MatchModel, stitch

JUNK = "noemail@example.com"

# Blocking on first name makes the junk holders who share a first name candidate pairs
# whatever is done to the email, so their scores can be read.
CONFIG = IdentityConfig(
    match=MatchConfig(
        fields=(
            MatchField(field="email", compare="exact"),
            MatchField(field="first_name"),
            MatchField(field="last_name"),
        ),
        blocking=(("first_name",), ("email",)),
    )
)
# A fixed model, so the scores are known: an email agreement is strong evidence, a
# first name alone is not enough, first and last name together are.
MODEL = MatchModel(
    fields=["email", "first_name", "last_name"],
    kinds=["exact", "name", "name"],
    m=[[0.01, 0.99], [0.02, 0.03, 0.05, 0.9], [0.02, 0.03, 0.05, 0.9]],
    u=[[0.999, 0.001], [0.9, 0.05, 0.03, 0.02], [0.9, 0.05, 0.03, 0.02]],
    prior=0.01,
)


def person(source_id: str, **fields: object) -> dict[str, object]:
    return {"source": "web", "source_id": source_id, **fields}


def junk_holders(n: int) -> list[dict[str, object]]:
    """Unrelated people who typed the same placeholder address; first names repeat."""
    firsts = ["John", "Mary", "James", "Linda"]
    return [person(f"j{i}", email=JUNK, first_name=firsts[i % 4], last_name=f"Surname{i}") for i in range(n)]


def cluster_of(result: object, key: str) -> set[str]:
    return next(set(c) for c in result.clusters() if key in c)  # type: ignore[attr-defined]


def test_unrelated_people_sharing_a_junk_email_and_a_first_name_are_not_linked() -> None:
    records = junk_holders(71)
    result = stitch(records, CONFIG, model=MODEL)
    assert result.evidence.shared == {("email", JUNK): 71}
    assert len(result.clusters()) == 71, [c for c in result.clusters() if len(c) > 1][:3]
    assert not result.match_links
    # Their pairs (same first name, so candidates) score on the first name alone:
    # the shared email is missing to the matcher, not an agreement.
    scored = result.scored
    assert scored is not None
    email = 0
    assert all(p < CONFIG.match.threshold for p in scored.probability.tolist())
    assert (scored.gammas[:, email] == -1).all()


def test_a_value_at_the_threshold_is_still_evidence() -> None:
    # Ten holders with shared_threshold 10: not shared, the email agreement counts.
    result = stitch(junk_holders(10), CONFIG, model=MODEL)
    assert not result.evidence.shared
    assert len(result.clusters()) == 1  # linked by the email itself
    scored = result.scored
    assert scored is not None and len(scored)
    assert (scored.gammas[:, 0] == 1).all()


def test_real_duplicates_sharing_the_junk_email_still_link_on_other_evidence() -> None:
    records = junk_holders(71)
    records += [
        person("grace-crm", email=JUNK, first_name="Grace", last_name="Hopper"),
        person("grace-shop", email=JUNK, first_name="Grace", last_name="Hopper"),
    ]
    result = stitch(records, CONFIG, model=MODEL)
    assert cluster_of(result, "web:grace-crm") == {"web:grace-crm", "web:grace-shop"}
    (link,) = result.match_links
    assert link.probability >= CONFIG.match.threshold
    assert link.levels[0] == -1  # the names made the link, not the junk email
    assert len(result.clusters()) == 72


def test_a_shared_phone_is_no_evidence_either() -> None:
    config = IdentityConfig(
        shared_threshold=3,
        match=MatchConfig(
            fields=(MatchField(field="phone", compare="exact"), MatchField(field="first_name")),
            blocking=(("first_name",),),
        ),
    )
    model = MatchModel(
        fields=["phone", "first_name"],
        kinds=["exact", "name"],
        m=[[0.01, 0.99], [0.02, 0.03, 0.05, 0.9]],
        u=[[0.999, 0.001], [0.9, 0.05, 0.03, 0.02]],
        prior=0.01,
    )
    # A switchboard number written four ways: one normalised value on four records.
    phones = ["+1 415 555 0100", "(415) 555-0100", "415.555.0100", "14155550100"]
    records = [person(str(i), phone=p, first_name="Sam") for i, p in enumerate(phones)]
    result = stitch(records, config, model=model)
    assert result.evidence.shared == {("phone", "+14155550100"): 4}
    assert len(result.clusters()) == 4


def test_trained_model_gives_junk_no_weight() -> None:
    # The default configuration, trained by EM on the data: web sign-ups who left the
    # placeholder address and only a first name, beside a CRM with real addresses.
    rng = random.Random(7)
    firsts = ["Ada", "Bob", "Cleo", "Dev", "Eve", "Finn", "Gus", "Hana"]
    given = firsts + [f"Given{i}" for i in range(200)]
    lasts = [f"Surname{i}" for i in range(300)]
    cities = [f"City{i}" for i in range(40)]
    records = [person(f"j{i}", email=JUNK, first_name=firsts[i % 4]) for i in range(71)]
    crm = [
        {
            "source": "crm",
            "source_id": str(i),
            "email": f"p{i}@example.org",
            "first_name": rng.choice(given),
            "last_name": rng.choice(lasts),
            "city": rng.choice(cities),
        }
        for i in range(1500)
    ]
    records += crm
    # Real duplicates: a help desk holding some of the CRM people without their email.
    records += [{**r, "source": "desk", "email": None} for r in crm[:200]]
    result = stitch(records)
    junk = {f"web:j{i}" for i in range(71)}
    assert all(len(set(c) & junk) <= 1 for c in result.clusters())
    scored = result.scored
    assert scored is not None
    keys = np.asarray(result.keys)
    among_junk = np.isin(keys[scored.a], list(junk)) & np.isin(keys[scored.b], list(junk))
    # No pair of them is scored as agreeing on the address (email is the first match field).
    assert (scored.gammas[among_junk, 0] != 1).all()
    assert (scored.probability[among_junk] < 0.5).all()
    # and the duplicates still find each other, on names and city
    linked = sum(cluster_of(result, f"crm:{i}") == {f"crm:{i}", f"desk:{i}"} for i in range(200))
    assert linked == 200, linked


def scores(result: object) -> dict[tuple[str, str], float]:
    return {(x.record_a, x.record_b): round(x.probability, 9) for x in result.scored_links()}  # type: ignore[attr-defined]


def test_incremental_run_rescores_pairs_when_a_value_becomes_shared() -> None:
    # Yesterday ten holders (evidence), today eleven (shared): the incremental run must
    # agree with a full run, though ten of the holders did not change.
    ten, eleven = junk_holders(10), junk_holders(11)
    earlier = stitch(ten, CONFIG, model=MODEL).scored_links()
    incremental = stitch(eleven, CONFIG, model=MODEL, changed=["web:j10"], earlier=earlier)
    full = stitch(eleven, CONFIG, model=MODEL)
    assert incremental.clusters() == full.clusters()
    assert scores(incremental) == scores(full)
    # and back: with the eleventh gone the address links the ten again
    earlier = full.scored_links()
    incremental = stitch(ten, CONFIG, model=MODEL, changed=[], earlier=earlier)
    assert incremental.clusters() == stitch(ten, CONFIG, model=MODEL).clusters()
