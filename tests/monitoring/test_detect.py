"""The volume detector on 60 days of history: planted drops and spikes are caught, the weekly
rhythm (weekends at 30% of weekdays) and day-to-day noise are not."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hub.monitoring import Anomaly, MonitoringConfig, judge_counts

START = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)  # a Monday, 03:00 UTC: the daily sync
CFG = MonitoringConfig()


def _audience(day: int, rng: random.Random) -> int:
    """A daily stream: ~1,000 records on weekdays, ~300 on weekends, +-4% noise."""
    base = 300 if (START + timedelta(days=day)).weekday() >= 5 else 1000
    return round(base * rng.uniform(0.96, 1.04))


def _series(days: int, counts: Callable[[int, random.Random], dict[str, Any]]) -> list[dict[str, Any]]:
    rng = random.Random(16)
    return [{"writes_back": False, **counts(day, rng)} for day in range(days)]


def _scan(series: list[dict[str, Any]], cfg: MonitoringConfig = CFG) -> dict[int, list[Anomaly]]:
    """Judge every day against the days before it, as each run's end does."""
    found: dict[int, list[Anomaly]] = {}
    history: list[tuple[datetime, dict[str, Any]]] = []
    for day, counts in enumerate(series):
        at = START + timedelta(days=day)
        anomalies = judge_counts(
            counts, at, history, cfg, connection="email", stream="audience", run_id=f"r{day}"
        )
        if anomalies:
            found[day] = anomalies
        history.append((at, counts))
    return found


def _read_only(day: int, rng: random.Random) -> dict[str, Any]:
    n = _audience(day, rng)
    return {"read": n, "written": n}


def test_a_drop_to_40_percent_and_a_5x_spike_are_caught_and_the_weekly_rhythm_is_not() -> None:
    series = _series(60, _read_only)
    drop, spike = 45, 50  # a Thursday and a Tuesday
    series[drop] = {**series[drop], "read": round(series[drop]["read"] * 0.4)}
    series[drop]["written"] = series[drop]["read"]
    series[spike] = {
        **series[spike],
        "read": series[spike]["read"] * 5,
        "written": series[spike]["written"] * 5,
    }

    found = _scan(series)

    assert sorted(found) == [drop, spike], {d: [a.describe() for a in v] for d, v in found.items()}
    assert {(a.metric, a.direction) for a in found[drop]} == {("read", "low"), ("written", "low")}
    assert {(a.metric, a.direction) for a in found[spike]} == {("read", "high"), ("written", "high")}
    [read_drop] = [a for a in found[drop] if a.metric == "read"]
    assert read_drop.basis == "4 past Thursdays" and 960 <= read_drop.median <= 1040
    assert read_drop.describe().startswith("audience: read ") and "is below its usual" in read_drop.describe()


def test_the_band_is_the_weekdays_own() -> None:
    """A weekday at weekend level is a drop, although every Saturday is that low."""
    series = _series(40, _read_only)
    tuesday = 36
    assert (START + timedelta(days=tuesday)).weekday() == 1
    series[tuesday] = {"writes_back": False, "read": 300, "written": 300}
    found = _scan(series)
    assert sorted(found) == [tuesday]
    assert found[tuesday][0].basis == "4 past Tuesdays"


def test_before_enough_weekdays_only_what_leaves_the_whole_range_is_flagged() -> None:
    series = _series(16, _read_only)
    series[15] = {**series[15], "read": 6000}  # day 15: only two past Tuesdays
    series[3] = {**series[3], "read": 20}  # day 3: too little history to judge at all
    found = _scan(series)
    assert sorted(found) == [15]
    assert found[15][0].basis == "all 15 runs"


def test_a_doubling_dead_letter_rate_is_caught_and_a_small_rise_is_not() -> None:
    def counts(day: int, rng: random.Random) -> dict[str, Any]:
        read = _audience(day, rng)
        return {"read": read, "written": read, "dead_lettered": round(read * rng.uniform(0.018, 0.022))}

    series = _series(60, counts)
    doubled, nudged = 52, 57
    series[doubled]["dead_lettered"] = round(series[doubled]["read"] * 0.04)
    series[nudged]["dead_lettered"] = round(series[nudged]["read"] * 0.025)

    found = _scan(series)

    assert sorted(found) == [doubled]
    [anomaly] = found[doubled]
    assert (anomaly.metric, anomaly.direction) == ("dead_letter_rate", "high")
    assert re.search(r"dead_letter_rate 4\.0% is above its usual 2\.\d% \(band ", anomaly.describe())


def test_write_back_counts_are_watched_only_on_write_backs() -> None:
    def counts(day: int, rng: random.Random) -> dict[str, Any]:
        sent = round(500 * rng.uniform(0.95, 1.05))
        return {"writes_back": True, "read": 5000, "writeback_sent": sent, "writeback_rejected": sent // 100}

    series = _series(40, counts)
    series[38]["writeback_rejected"] = series[38]["writeback_sent"] // 4  # a quarter refused
    series[39]["writeback_sent"] = 2500  # five times the usual changes
    found = _scan(series)
    assert {d: [(a.metric, a.direction) for a in v] for d, v in found.items()} == {
        38: [("writeback_rejected_rate", "high")],
        39: [("writeback_sent", "high")],
    }
    sync = [{**c, "writes_back": False} for c in series]
    assert _scan(sync) == {}, "a sync has no write-back series"


def test_a_steady_series_does_not_alarm_on_a_few_records() -> None:
    series = [{"writes_back": False, "read": 1000} for _ in range(30)]
    series[29] = {"writes_back": False, "read": 1009}  # MAD is 0: only the floors stop this
    assert _scan(series) == {}
    series[29] = {"writes_back": False, "read": 700}
    assert list(_scan(series)) == [29]


@pytest.mark.parametrize(
    ("yaml_value", "message"),
    [
        ({"window_days": 3}, "greater than or equal to 7"),
        ({"min_same_weekday": 5}, "cannot be met in a window of 28 days"),
        ({"treshold": 2}, "Extra inputs are not permitted"),
    ],
)
def test_settings_are_checked(yaml_value: dict[str, Any], message: str) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=message):
        MonitoringConfig.model_validate(yaml_value)


def test_an_hourly_stream_is_not_flagged_on_its_first_weekend() -> None:
    """Seven hourly runs exist by Monday morning; the first Saturday must not look like a drop."""
    history: list[tuple[datetime, dict[str, Any]]] = []
    flagged = []
    for hour in range(24 * 10):
        at = START + timedelta(hours=hour)
        read = 300 if at.weekday() >= 5 else 1000
        if hour == 24 * 9 + 5:  # Wednesday of the second week: a 5x spike
            read = 5000
        counts = {"writes_back": False, "read": read}
        if judge_counts(counts, at, history, CFG, connection="c", stream="s", run_id=str(hour)):
            flagged.append(hour)
        history.append((at, counts))
    assert flagged == [24 * 9 + 5]
