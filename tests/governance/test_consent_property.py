"""Property: over random people, consent histories and destinations, no row the govern step lets
through (unmarked) goes to a destination whose purpose its person lacks consent for.

The oracle is written apart from the code under test: sort the person's history for the
purpose's consent-system purposes by time (a withdrawal first among equals... last), take the
newest, and apply the region's rule as the issue states it (EU: only granted; US: all but
withdrawn; no record: US allows, EU denies; unknown region: the strictest, i.e. EU's)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from hub.governance.config import GovernanceConfig
from hub.governance.people import PersonIndex
from hub.governance.step import WITHDRAW_FIELD, Governor, build_policies

CONFIG = GovernanceConfig.model_validate(
    {
        "purposes": {
            "email_marketing": {"consent": ["newsletter", "marketing"]},
            "advertising": {"consent": ["ads"]},
            "support": {"consent": "none"},
        },
        "regions": {
            "eu": {"countries": ["Germany", "DE"], "consent": "opt_in", "send_to": ["eu", "us"]},
            "us": {"countries": ["United States"], "consent": "opt_out", "send_to": ["eu", "us"]},
        },
    }
)
SERVES = {"email_marketing": ["newsletter", "marketing"], "advertising": ["ads"], "support": []}
STATUSES = ["granted", "withdrawn", "expired", "pending", "not_given"]
T0 = datetime(2025, 1, 1, tzinfo=UTC)

events = st.lists(
    st.tuples(
        st.integers(0, 5),  # person
        st.sampled_from(["newsletter", "marketing", "ads", "other"]),
        st.sampled_from(STATUSES),
        st.integers(0, 20),  # minutes after T0: ties happen
    ),
    max_size=40,
)
people = st.lists(
    st.sampled_from(["Germany", "DE", "United States", None, "Atlantis"]), min_size=6, max_size=6
)


def oracle(history: list[tuple[str, str, int]], purpose: str, country: str | None) -> bool:
    if not SERVES[purpose]:
        return True
    # at one instant the most cautious decision wins: withdrawn, then any other than granted
    relevant = [(t, s == "withdrawn", s != "granted", s) for p, s, t in history if p in SERVES[purpose]]
    region = {"Germany": "eu", "DE": "eu", "United States": "us"}.get(country or "")
    if not relevant:
        return region == "us"
    latest = max(relevant)[3]
    return latest != "withdrawn" if region == "us" else latest == "granted"


@settings(max_examples=150, deadline=None)
@given(events, people, st.sampled_from(sorted(SERVES)), st.booleans())
def test_no_row_reaches_a_purpose_its_person_did_not_consent_to(
    history: list[tuple[int, str, str, int]], countries: list[str | None], purpose: str, writes_back: bool
) -> None:
    consents = [
        {
            "source": "onetrust",
            "source_id": f"{n}",
            "email": f"person{who}@example.org",
            "purpose": p,
            "event": s,
            "occurred_at": T0 + timedelta(minutes=t),
        }
        for n, (who, p, s, t) in enumerate(history)
    ]
    index = PersonIndex.build(CONFIG, consents)
    governor = Governor(
        connection="dest",
        stream="contacts",
        entity="contact",
        policies=build_policies(CONFIG, "dest", purpose, "eu", writes_back, b"k" * 32),
        key_fields=("source", "source_id"),
        load_people=lambda: index,
    )
    rows: list[dict[str, Any]] = [
        {"source": "crm", "source_id": str(i), "email": f"Person{i}@Example.org ", "country": c}
        for i, c in enumerate(countries)
    ]
    governed = governor.apply([dict(r) for r in rows], run_id="r")
    delivered = {r["source_id"] for r in governed.rows if not r.get(WITHDRAW_FIELD)}
    for i, country in enumerate(countries):
        own = [(p, s, t) for who, p, s, t in history if who == i]
        assert (str(i) in delivered) == oracle(own, purpose, country), (i, own, purpose, country)
    if not writes_back:  # a SQL destination never receives a withdrawn row, marked or not
        assert all(not r.get(WITHDRAW_FIELD) for r in governed.rows)
