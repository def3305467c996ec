"""crossdock.yaml `monitoring:`: how the volume anomaly detector judges a run (hub/monitoring).

Defaults suit a daily sync: four weeks of history, a band of 3.5 robust deviations,
and no judgement before a week of runs. docs/reconciliation.md ("Anomalies") explains each.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["MonitoringConfig"]


class MonitoringConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(default=True, description="judge each run's counts against their history")
    window_days: int = Field(default=28, ge=7, le=366, description="trailing days of history to judge by")
    threshold: float = Field(
        default=3.5, gt=0, le=50, description="band half-width in robust deviations (1.4826 x MAD)"
    )
    min_history: int = Field(
        default=7, ge=3, le=1000, description="runs of history needed before any judgement"
    )
    min_same_weekday: int = Field(
        default=3, ge=1, le=100, description="past runs on the same weekday needed to compare like with like"
    )
    min_change: int = Field(
        default=10, ge=0, description="a count never alarms for moving fewer records than this"
    )
    min_relative: float = Field(
        default=0.2, ge=0, le=10, description="nor for moving less than this share of its median"
    )
    notify: bool = Field(default=True, description="post anomalies to notifications.webhook")

    @model_validator(mode="after")
    def _weekday_fits_window(self) -> MonitoringConfig:
        weeks = self.window_days // 7
        if self.min_same_weekday > weeks:
            raise ValueError(
                f"min_same_weekday ({self.min_same_weekday}) cannot be met in a window of "
                f"{self.window_days} days ({weeks} of each weekday); lower it or widen window_days"
            )
        return self
