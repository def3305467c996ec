"""Silent drift: each run's per-stream counts kept as a time series, and a robust detector
(median and MAD over a trailing window, weekly seasonality) that flags a stream or a
write-back whose volume leaves its usual band, too low or too high. docs/reconciliation.md."""

from hub.monitoring.config import MonitoringConfig
from hub.monitoring.detect import METRICS, Anomaly, Band, Metric, Sample, band_for, judge, judge_counts
from hub.monitoring.observe import latest_anomalies, notify_anomalies, observe_run, run_anomalies
from hub.monitoring.series import StreamMetrics, load_metrics, record_metrics

__all__ = [
    "METRICS",
    "Anomaly",
    "Band",
    "Metric",
    "MonitoringConfig",
    "Sample",
    "StreamMetrics",
    "band_for",
    "judge",
    "judge_counts",
    "latest_anomalies",
    "load_metrics",
    "notify_anomalies",
    "observe_run",
    "record_metrics",
    "run_anomalies",
]
