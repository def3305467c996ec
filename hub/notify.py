"""Run notifications: a run that ends failed, partial or abandoned posts to a webhook.

crossdock.yaml `notifications:` names the webhook (usually `${env:...}` or `${secret:...}`,
since a Slack-style webhook URL is itself a credential) and the statuses that post. The body is
JSON with a Slack-compatible `text` line and the run's fields; it passes through
`hub.redaction.redact`, and the webhook URL is registered as a secret so no log line or audit
entry shows it. Transient failures (connection errors, timeouts, 429, 5xx) are retried with
backoff; a webhook that stays down is logged and audited as `notify.failed` and never changes
the run's outcome: a notification is news about a run, not part of it.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

import httpx
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from hub.redaction import redact, register_secret

if TYPE_CHECKING:
    from hub.context import HubContext
    from hub.store.models import SyncRun
    from hub.workspace.model import NotificationsSection

__all__ = ["notify_run", "run_message", "post_webhook", "post_notification", "notify_event"]

log = logging.getLogger(__name__)
_TEXT_ERROR_CHARS = 500  # a chat line, not a log: the full error is in the JSON and `crossdock runs`


def run_message(run: SyncRun) -> dict[str, Any]:
    """The JSON body for a run (before redaction): `text` for Slack-compatible receivers, and
    the run's fields for anything that parses it."""
    error = run.error or ""
    short = error if len(error) <= _TEXT_ERROR_CHARS else error[:_TEXT_ERROR_CHARS] + "..."
    text = (
        f"crossdock: connection `{run.connection}` run {run.id} {run.status}: "
        f"{run.records_read:,} read, {run.records_written:,} written, "
        f"{run.records_dead_lettered:,} dead-lettered" + (f"; {short}" if short else "")
    )
    return {
        "text": text,
        "connection": run.connection,
        "run_id": run.id,
        "status": run.status,
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "ended_at": run.ended_at.isoformat() if run.ended_at else None,
        "records_read": run.records_read,
        "records_written": run.records_written,
        "records_dead_lettered": run.records_dead_lettered,
        "error": run.error,
    }


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, httpx.HTTPStatusError):
        code = exc.response.status_code
        return code == 429 or code >= 500
    return isinstance(exc, httpx.TransportError)


def post_webhook(url: str, body: str, attempts: int, timeout: float, backoff: float = 0.5) -> int:
    """POST the JSON `body`; returns the number of tries it took. Raises the last error
    (httpx.HTTPError) once `attempts` are spent, or at once for a 4xx other than 429."""
    with httpx.Client(timeout=timeout) as client:
        for attempt in Retrying(
            stop=stop_after_attempt(attempts),
            wait=wait_exponential(multiplier=backoff, max=8),
            retry=retry_if_exception(_transient),
            reraise=True,
        ):
            with attempt:
                response = client.post(url, content=body, headers={"content-type": "application/json"})
                response.raise_for_status()
        return attempt.retry_state.attempt_number


def notify_run(ctx: HubContext, run: SyncRun) -> bool:
    """Post the run's outcome if the workspace asks for it; True when a webhook took it.

    Never raises: any failure (an unset variable, a webhook down, a bad workspace) is logged
    and audited, and the run keeps the status it has."""
    try:
        settings = ctx.workspace().notifications
    except Exception as exc:  # the run itself got this far; its news must not sink it
        log.warning("notifications skipped for run %s: %s", run.id, redact(str(exc)))
        return False
    if not settings.webhook or run.status not in settings.on:
        return False
    return post_notification(
        ctx, run_message(run), target=run.connection, details={"run_id": run.id, "status": run.status}
    )


def post_notification(ctx: HubContext, body: dict[str, Any], *, target: str, details: dict[str, Any]) -> bool:
    """Post `body` (redacted) to the workspace's webhook, if it names one; True when taken.

    The one way every notice goes out (a run's outcome, a volume anomaly): audited as
    `notify.sent` or `notify.failed` with `details`; never raises."""
    try:
        settings = ctx.workspace().notifications
    except Exception as exc:  # what it is about got this far; its news must not sink it
        log.warning("notification about %s skipped: %s", target, redact(str(exc)))
        return False
    if not settings.webhook:
        return False
    try:
        url = _webhook_url(ctx, settings)
        tries = post_webhook(url, redact(json.dumps(body, default=str)), settings.attempts, settings.timeout)
    except Exception as exc:
        why = redact(f"{type(exc).__name__}: {exc}")
        log.warning(
            "notification about %s %s not delivered after %d tries: %s",
            target,
            details,
            settings.attempts,
            why,
        )
        _audit(ctx, "notify.failed", target, {**details, "error": why, "attempts": settings.attempts})
        return False
    _audit(ctx, "notify.sent", target, {**details, "attempts": tries})
    return True


def notify_event(ctx: HubContext, *, target: str, status: str, body: dict[str, Any]) -> bool:
    """Post news other than a run's end (a reconcile that found differences) to the same
    webhook, with the same redaction, retries and audit; the caller decides that it is news
    (`notifications.on` lists run statuses). Never raises; True when the webhook took it."""
    try:
        settings = ctx.workspace().notifications
        if not settings.webhook:
            return False
        url = _webhook_url(ctx, settings)
        tries = post_webhook(url, redact(json.dumps(body, default=str)), settings.attempts, settings.timeout)
    except Exception as exc:
        why = redact(f"{type(exc).__name__}: {exc}")
        log.warning("notification about %s (%s) not delivered: %s", target, status, why)
        _audit_event(ctx, "notify.failed", target, {"status": status, "error": why})
        return False
    _audit_event(ctx, "notify.sent", target, {"status": status, "attempts": tries})
    return True


def _audit_event(ctx: HubContext, action: str, target: str, details: dict[str, Any]) -> None:
    try:
        ctx.audit.append(action, target=target, details=details)
    except Exception:
        log.exception("could not audit %s for %s", action, target)


def _webhook_url(ctx: HubContext, settings: NotificationsSection) -> str:
    resolved = ctx.resolve(
        {"webhook": settings.webhook},
        where="notifications",
        secret=lambda name: ctx.secret(name, used_by="notifications"),
    )
    url = str(resolved["webhook"])
    register_secret(url)  # a webhook URL carries its own token: masked in every log and error
    return url


def _audit(ctx: HubContext, action: str, target: str, details: dict[str, Any]) -> None:
    try:
        ctx.audit.append(action, target=target, details=details)
    except Exception:  # the audit refusing (a cut chain) is reported by `audit verify`, not here
        log.exception("could not audit %s for %s", action, target)
