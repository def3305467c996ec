"""What YAML cannot say for Facebook: one page insights record per metric and day.

Graph answers `/{page_id}/insights` with one entry per metric, each holding the
window's days as `values: [{value, end_time}]`. Keyed by window, the same day came
back under a new key whenever the windows moved (the last one ends "now", a resume
starts at the state + 1 s), so a warehouse kept overlapping copies; keyed by the
day's own `end_time`, a day has one key however the days were asked for.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from connectors._shared.components import JsonBodyExtractor


@dataclass
class DailyMetricExtractor(JsonBodyExtractor):
    """`data[*].values[*]` -> one record per metric and day, keyed `{metric id}@{end_time}`."""

    def records_from(self, body: Any) -> Iterable[Mapping[str, Any]]:
        out = []
        for metric in body.get("data") or []:
            about = {k: metric.get(k) for k in ("id", "name", "period", "title")}
            for day in metric.get("values") or []:
                out.append(
                    {
                        **about,
                        "value": day.get("value"),
                        "end_time": day.get("end_time"),
                        "metric_key": f"{metric.get('id')}@{day.get('end_time')}",
                    }
                )
        return out
