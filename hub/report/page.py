"""The report as one self-contained HTML page: inline CSS and inline SVG, no script, no font,
no stylesheet or image from anywhere (it is opened from disk, mailed, or archived)."""

from __future__ import annotations

from html import escape
from statistics import median

from hub.redaction import redact
from hub.report.data import ConnectionHistory, Report
from hub.report.svg import Series, line, stacked_bars

__all__ = ["render_report"]

_CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 24px;
       color: #1f2933; background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 28px 0 6px; }
.meta { color: #52606d; margin-bottom: 16px; }
table.summary { border-collapse: collapse; margin: 8px 0 16px; }
table.summary th, table.summary td { padding: 4px 10px; border-bottom: 1px solid #e4e7eb; text-align: right; }
table.summary th:first-child, table.summary td:first-child { text-align: left; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
figure { margin: 0; border: 1px solid #e4e7eb; border-radius: 6px; padding: 6px 8px; }
figcaption { font-weight: 600; font-size: 13px; margin-bottom: 2px; }
svg.chart { display: block; }
.grid { stroke: #e4e7eb; stroke-width: 1; }
.axis, .unit, .empty { font-size: 11px; fill: #7b8794; }
.line { fill: none; stroke-width: 2; }
.written { fill: #3e7bfa; } .dead { fill: #e12d39; } .accepted { fill: #27ab83; } .rejected { fill: #e12d39; }
.seconds { fill: #8e44ad; stroke: #8e44ad; }
.status-succeeded { color: #1f7a4d; } .status-partial { color: #b7791f; } .status-failed { color: #c53030; }
.status-abandoned { color: #97266d; } .status-running { color: #2b6cb0; }
.note { color: #52606d; font-size: 13px; }
"""


def _status(status: str) -> str:
    return f'<span class="status-{escape(status)}">{escape(status)}</span>'


def _summary_row(conn: ConnectionHistory) -> str:
    runs = conn.runs
    durations = [r.seconds for r in runs if r.seconds is not None]
    last = runs[-1] if runs else None
    cells = [
        escape(conn.name),
        str(len(runs)),
        str(conn.count("succeeded")),
        str(conn.count("partial")),
        str(conn.count("failed") + conn.count("abandoned")),
        f"{sum(r.written for r in runs):,}",
        f"{sum(r.dead_letters for r in runs):,}",
        f"{sum(r.rejected for r in runs):,}" if conn.writes_back else "",
        f"{median(durations):,.1f} s" if durations else "",
        _status(last.status) if last else "never run",
    ]
    return "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def _section(conn: ConnectionHistory) -> str:
    runs = conn.runs
    labels = [f"{r.started_at:%Y-%m-%d %H:%M}" for r in runs]
    charts = [
        (
            "Records per run",
            stacked_bars(
                "volume",
                f"{conn.name}: records written and dead-lettered per run",
                labels,
                [
                    Series("written", "written", [float(r.written) for r in runs]),
                    Series("dead letters", "dead", [float(r.dead_letters) for r in runs]),
                ],
                "records",
            ),
        ),
        (
            "Duration",
            line(
                "duration",
                f"{conn.name}: run duration",
                labels,
                [r.seconds or 0.0 for r in runs],
                "seconds",
                "seconds",
            ),
        ),
        (
            "Dead letters",
            stacked_bars(
                "dead-letters",
                f"{conn.name}: dead letters per run",
                labels,
                [Series("dead letters", "dead", [float(r.dead_letters) for r in runs])],
                "records",
            ),
        ),
    ]
    if conn.writes_back:
        charts.append(
            (
                "Write-back results",
                stacked_bars(
                    "writeback",
                    f"{conn.name}: write-back results per run",
                    labels,
                    [
                        Series("accepted", "accepted", [float(r.accepted) for r in runs]),
                        Series("rejected", "rejected", [float(r.rejected) for r in runs]),
                    ],
                    "records",
                ),
            )
        )
    where = f"schedule <code>{escape(conn.schedule)}</code>" if conn.schedule else "on demand"
    gone = "" if conn.in_workspace else " (no longer in crossdock.yaml)"
    last_problem = next((r for r in reversed(runs) if r.status in ("failed", "partial", "abandoned")), None)
    problem = (
        f'<p class="note">last problem: run {escape(last_problem.run_id)} {_status(last_problem.status)} '
        f"at {last_problem.started_at:%Y-%m-%d %H:%M} UTC</p>"
        if last_problem
        else ""
    )
    figures = "".join(f"<figure><figcaption>{escape(t)}</figcaption>{svg}</figure>" for t, svg in charts)
    return (
        f'<section class="connection" data-connection="{escape(conn.name)}" data-runs="{len(runs)}">'
        f"<h2>{escape(conn.name)}</h2>"
        f'<p class="meta">{escape(conn.destination)} destination, {where}{gone}; {len(runs)} run(s)</p>'
        f'{problem}<div class="charts">{figures}</div></section>'
    )


def render_report(report: Report) -> str:
    head = (
        "<tr>"
        + "".join(
            f"<th>{h}</th>"
            for h in (
                "connection",
                "runs",
                "succeeded",
                "partial",
                "failed",
                "written",
                "dead letters",
                "rejected",
                "median duration",
                "last run",
            )
        )
        + "</tr>"
    )
    rows = "".join(_summary_row(c) for c in report.connections)
    sections = "".join(_section(c) for c in report.connections)
    page = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Crossdock report: last {report.days:g} days</title><style>{_CSS}</style></head><body>"
        f"<h1>Crossdock: the last {report.days:g} days</h1>"
        f'<p class="meta">runs started {report.since:%Y-%m-%d %H:%M} to {report.generated_at:%Y-%m-%d %H:%M} '
        "UTC, from the hub's run history. Times are UTC; hover a bar or dot for its run.</p>"
        f'<table class="summary">{head}{rows}</table>{sections}</body></html>'
    )
    return redact(page)  # nothing here should hold a secret; masked anyway, as every output is
