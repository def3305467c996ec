"""The volume anomaly detector: is this run's count inside the band its history draws?

Robust on purpose: the band is the median of the trailing window plus or minus `threshold`
robust deviations (1.4826 x the median absolute deviation), so one odd day in the history
barely moves it. Seasonality is weekly: a Monday is judged against past Mondays once there
are `min_same_weekday` of them in the window. Before that, the band is deliberately lenient:
the run must leave the whole range the window has seen (so a stream whose weekends run at a
third of its weekdays is not flagged every Saturday of its first weeks), and a real drop or
spike is still caught as soon as like can be compared with like.

A floor keeps tiny moves quiet whatever the deviation: a perfectly steady series (MAD 0)
must not alarm on one record more; see `_half_width`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from statistics import median
from typing import Any, Literal, NamedTuple

from hub.monitoring.config import MonitoringConfig

__all__ = ["Metric", "METRICS", "Sample", "Band", "Anomaly", "band_for", "judge", "judge_counts"]

_MAD_TO_SIGMA = 1.4826  # a normal distribution's standard deviation is 1.4826 x its MAD
_RATE_FLOOR = 0.01  # a rate never alarms for moving less than one percentage point
# Before like can be compared with like, the history must hold a weekend: a stream synced
# hourly reaches `min_history` runs on its first day, and its first Saturday is no anomaly.
_LENIENT_SPAN = timedelta(days=6)
_WEEKDAYS = ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays")


@dataclass(frozen=True)
class Metric:
    """One series the detector watches, computed from a stream run's counts (None: not
    applicable to this run, e.g. a rate over zero records, a write-back count of a sync)."""

    name: str
    kind: Literal["count", "rate"]
    value: Callable[[Mapping[str, Any]], float | None]


def _count(field: str, writeback: bool = False) -> Callable[[Mapping[str, Any]], float | None]:
    def value(counts: Mapping[str, Any]) -> float | None:
        if writeback and not counts.get("writes_back"):
            return None
        return float(counts.get(field) or 0)

    return value


def _rate(part: str, whole: str, writeback: bool = False) -> Callable[[Mapping[str, Any]], float | None]:
    def value(counts: Mapping[str, Any]) -> float | None:
        total = counts.get(whole) or 0
        if (writeback and not counts.get("writes_back")) or total <= 0:
            return None
        return float(counts.get(part) or 0) / total

    return value


# What is watched, as data: a new series is one row here (docs/reconciliation.md lists them).
METRICS: tuple[Metric, ...] = (
    Metric("read", "count", _count("read")),
    Metric("written", "count", _count("written")),
    Metric("dead_letter_rate", "rate", _rate("dead_lettered", "read")),
    Metric("filtered", "count", _count("filtered")),
    Metric("policy_filtered", "count", _count("policy_filtered")),
    Metric("writeback_sent", "count", _count("writeback_sent", writeback=True)),
    Metric("writeback_rejected_rate", "rate", _rate("writeback_rejected", "writeback_sent", writeback=True)),
)


class Sample(NamedTuple):  # a tuple, not a dataclass: a year of hourly runs makes many
    at: datetime
    value: float


@dataclass(frozen=True)
class Band:
    median: float
    low: float
    high: float
    basis: str  # "4 past Mondays" or "all 12 runs" (the lenient range before enough weekdays)
    history: int  # how many past values it was drawn from


@dataclass(frozen=True)
class Anomaly:
    connection: str
    stream: str
    metric: str
    value: float
    direction: Literal["low", "high"]
    median: float
    low: float
    high: float
    basis: str
    run_id: str
    at: datetime

    def describe(self) -> str:
        """One line for a person: what moved, where to, against what."""
        fmt = _fmt_rate if self.metric.endswith("_rate") else _fmt_count
        where = "below" if self.direction == "low" else "above"
        return (
            f"{self.stream}: {self.metric} {fmt(self.value)} is {where} its usual {fmt(self.median)} "
            f"(band {fmt(self.low)} to {fmt(self.high)}, from {self.basis})"
        )

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "at": self.at.isoformat(), "text": self.describe()}


def _fmt_count(v: float) -> str:
    return f"{max(v, 0):,.0f}"


def _fmt_rate(v: float) -> str:
    return f"{max(v, 0) * 100:.1f}%"


def _half_width(kind: str, med: float, spread: float, cfg: MonitoringConfig) -> float:
    floor = _RATE_FLOOR if kind == "rate" else float(cfg.min_change)
    return max(cfg.threshold * spread, floor, cfg.min_relative * abs(med))


def band_for(kind: str, at: datetime, history: Sequence[Sample], cfg: MonitoringConfig) -> Band | None:
    """The band a value at `at` should fall in, from the samples before it inside the window;
    None when the window holds fewer than `min_history` of them, or, without
    enough of the same weekday, spans less than six days (no judgement yet)."""
    start = at - timedelta(days=cfg.window_days)
    window = [s for s in history if start <= s.at < at]
    if len(window) < cfg.min_history:
        return None
    same = [s.value for s in window if s.at.weekday() == at.weekday()]
    if len(same) >= cfg.min_same_weekday:
        med = median(same)
        spread = _MAD_TO_SIGMA * median(abs(v - med) for v in same)
        half = _half_width(kind, med, spread, cfg)
        return Band(med, med - half, med + half, f"{len(same)} past {_WEEKDAYS[at.weekday()]}", len(same))
    if at - min(s.at for s in window) < _LENIENT_SPAN:
        return None
    values = [s.value for s in window]
    med = median(values)
    spread = _MAD_TO_SIGMA * median(abs(v - med) for v in values)
    half = _half_width(kind, med, spread, cfg)
    return Band(med, min(values) - half, max(values) + half, f"all {len(values)} runs", len(values))


def judge(
    metric: Metric,
    value: float,
    at: datetime,
    history: Sequence[Sample],
    cfg: MonitoringConfig,
    *,
    connection: str,
    stream: str,
    run_id: str,
) -> Anomaly | None:
    band = band_for(metric.kind, at, history, cfg)
    if band is None or band.low <= value <= band.high:
        return None
    return Anomaly(
        connection=connection,
        stream=stream,
        metric=metric.name,
        value=value,
        direction="low" if value < band.low else "high",
        median=band.median,
        low=max(band.low, 0.0),
        high=band.high,
        basis=band.basis,
        run_id=run_id,
        at=at,
    )


def judge_counts(
    counts: Mapping[str, Any],
    at: datetime,
    history: Sequence[tuple[datetime, Mapping[str, Any]]],
    cfg: MonitoringConfig,
    *,
    connection: str,
    stream: str,
    run_id: str,
) -> list[Anomaly]:
    """Every metric of one stream run judged against the same stream's earlier runs."""
    found = []
    start = at - timedelta(days=cfg.window_days)
    window = [(t, c) for t, c in history if start <= t < at]  # once, not once per metric
    for metric in METRICS:
        value = metric.value(counts)
        if value is None:
            continue
        samples = [Sample(t, v) for t, c in window if (v := metric.value(c)) is not None]
        anomaly = judge(metric, value, at, samples, cfg, connection=connection, stream=stream, run_id=run_id)
        if anomaly is not None:
            found.append(anomaly)
    return found
