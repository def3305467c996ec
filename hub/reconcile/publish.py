"""A reconcile report as news: the markdown table a Prefect flow run shows as its artifact,
and the webhook message sent when the differences pass the connection's threshold."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hub.reconcile.report import ConnectionReport

if TYPE_CHECKING:
    from hub.context import HubContext

__all__ = ["report_markdown", "should_notify", "notify_report"]


def report_markdown(report: ConnectionReport) -> str:
    lines = [
        f"# Reconcile `{report.connection}`: {report.status}",
        "",
        "| stream | source | warehouse | missing | extra | stale | pending | equal | status | seconds |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    for r in report.streams:
        lines.append(
            f"| {r.stream} | {r.source:,} | {r.warehouse:,} | {r.missing:,} | {r.extra:,} | {r.stale:,} "
            f"| {r.pending:,} | {r.equal:,} | {r.status} | {r.seconds:.1f} |"
        )
    samples = [
        f"- `{r.stream}` {kind}: {', '.join(f'`{k}`' for k in keys)}"
        for r in report.streams
        for kind, keys in r.samples.items()
    ]
    errors = [f"- `{r.stream}` failed: {r.error}" for r in report.streams if r.error]
    if samples or errors:
        lines += ["", "Sample keys and errors:", *samples, *errors]
    if report.repaired is not None:
        lines += ["", "Repaired:"] + [
            f"- `{s}`: {d['rewritten']:,} rewritten, {d['flagged_deleted']:,} flagged deleted, "
            f"{d['deleted']:,} deleted"
            for s, d in report.repaired.items()
        ]
    return "\n".join(lines) + "\n"


def should_notify(report: ConnectionReport, notify_above: int) -> bool:
    """A failed check always; differences when there are more than `notify_above`."""
    return report.status == "failed" or report.differences > notify_above


def message(report: ConnectionReport) -> dict[str, Any]:
    counts = ", ".join(
        f"{r.stream} {r.missing} missing/{r.extra} extra/{r.stale} stale" for r in report.streams
    )
    return {
        "text": f"crossdock: reconcile of `{report.connection}` {report.status}: "
        f"{report.differences:,} difference(s) ({counts})",
        **report.to_dict(),
    }


def notify_report(ctx: HubContext, report: ConnectionReport, notify_above: int) -> bool:
    """Post the report to the workspace's webhook when it is news; True when it was taken."""
    from hub.notify import notify_event

    if not should_notify(report, notify_above):
        return False
    return notify_event(ctx, target=report.connection, status=report.status, body=message(report))
