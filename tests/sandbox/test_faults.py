"""Planting a fault proves it fired: a block whose fault was never served fails the test."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hub.sandbox.faults import FaultNotServed, Faults

CONTACTS = "/crm/v3/objects/contacts"


def test_a_fault_served_its_times_passes_and_is_gone_after() -> None:
    faults = Faults()
    with faults.planted(CONTACTS, "500", times=2) as fault:
        assert faults.take("GET", CONTACTS + "/1") is fault
        assert faults.take("GET", CONTACTS) is fault
    assert fault.served == 2 and faults.take("GET", CONTACTS) is None


def test_a_fault_never_served_fails_naming_it_and_where_it_was_planted() -> None:
    faults = Faults()
    with pytest.raises(FaultNotServed) as failed:
        with faults.planted(CONTACTS, "lost", method="POST"):
            faults.take("GET", CONTACTS)  # the wrong method: not the request meant to break
    message = str(failed.value)
    assert f"'lost' on POST {CONTACTS}*" in message and "served 0" in message
    assert re.search(r"test_faults\.py:\d+: ", message), message


def test_a_fault_served_fewer_times_than_planted_fails() -> None:
    faults = Faults()
    with pytest.raises(AssertionError, match=r"planted for 3 request\(s\) but served 1"):
        with faults.planted(CONTACTS, "429", times=3):
            faults.take("GET", CONTACTS)
    assert faults.take("GET", CONTACTS) is None  # the rest was switched off with the block


def test_an_open_ended_fault_must_be_served_at_least_as_asked() -> None:
    faults = Faults()
    with faults.planted(CONTACTS, "503", times=None):
        faults.take("GET", CONTACTS)
    with pytest.raises(FaultNotServed, match="served 1 time.*at least 2"):
        with faults.planted(CONTACTS, "503", times=None, at_least=2):
            faults.take("GET", CONTACTS)
    with pytest.raises(FaultNotServed):
        with faults.planted(CONTACTS, "503", times=None):
            pass


def test_an_optional_fault_may_stay_unserved() -> None:
    faults = Faults()
    with faults.planted(CONTACTS, "slow", times=None, optional=True):
        pass
    assert faults.take("GET", CONTACTS) is None


def test_the_block_s_own_failure_is_not_hidden_by_the_unserved_fault() -> None:
    faults = Faults()
    with pytest.raises(KeyError):
        with faults.planted(CONTACTS, "500"):
            raise KeyError("the real failure")
    assert faults.take("GET", CONTACTS) is None


def test_an_unknown_kind_fails_at_the_planting_line() -> None:
    with pytest.raises(ValueError, match="unknown fault kind 'nope'"):
        Faults().planted(CONTACTS, "nope")


def test_each_fault_counts_its_own_responses() -> None:
    faults = Faults()
    with faults.planted(CONTACTS, "500") as first, faults.planted("/crm", "500") as second:
        faults.take("GET", CONTACTS)
        faults.take("GET", "/crm/v3/objects/companies")
    assert (first.served, second.served, faults.served("500")) == (1, 1, 2)


def test_tests_plant_faults_only_with_proof() -> None:
    """`faults.add` switches a fault on with no proof that it fires; tests use `planted`."""
    tests = Path(__file__).resolve().parents[1]
    unproven = [
        f"{path.relative_to(tests.parent)}:{n}"
        for path in sorted(tests.rglob("*.py"))
        if path.name != Path(__file__).name
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"\bfaults\.add\(", line)
    ]
    assert not unproven, (
        f"{', '.join(unproven)}: plant faults with `with <sandbox>.faults."
        "planted(...) as fault:`, which fails the test if the fault never fired"
    )
