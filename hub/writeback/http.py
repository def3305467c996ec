"""The HTTP client every write-back connector uses: retries that respect the API.

429 waits for Retry-After; 5xx, timeouts, dropped connections and unreadable
bodies back off exponentially. Write-back calls are upserts by a match key, so a
retry after a lost response cannot duplicate a record. A call that is not
(OneTrust's consent receipts) passes `settled`: after a failure that may have
landed, it asks the API whether it did, and retries only if not. When retries run out
the error names the product, the call and the last failure; the stream task
may then be retried as a whole, and already accepted batches are not resent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import httpx
import orjson
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from hub.apigov import ApiGate, GatedTransport
from hub.errors import FatalError, RetriableError
from hub.writeback.config import WritebackConfig

__all__ = ["ApiClient", "ApiResponse"]

log = logging.getLogger("crossdock.writeback")

_RETRY_STATUSES = {429, 500, 502, 503, 504}


class _Transient(Exception):
    def __init__(self, message: str, retry_after: float | None = None, may_have_landed: bool = True) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.may_have_landed = may_have_landed  # False only for 429: the API did nothing


class ApiResponse:
    def __init__(self, status: int, body: Any, headers: httpx.Headers | None = None) -> None:
        self.status, self.body = status, body
        self.headers = headers if headers is not None else httpx.Headers()


class ApiClient:
    @classmethod
    def from_config(
        cls,
        config: WritebackConfig,
        default_url: str,
        *,
        product: str,
        base_url: str | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
    ) -> ApiClient:
        """The client for a write-back connector's validated config: its `base_url` (or
        `base_url` here, or `default_url`), `max_attempts`, `backoff_factor` and `timeout`."""
        return cls(
            base_url or config.base_url or default_url,
            product=product,
            headers=headers,
            auth=auth,
            max_attempts=config.max_attempts,
            backoff=config.backoff_factor,
            timeout=config.timeout,
        )

    def __init__(
        self,
        base_url: str,
        *,
        product: str,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        max_attempts: int = 6,
        backoff: float = 0.5,
        timeout: float = 30.0,
        max_wait: float = 60.0,
    ) -> None:
        self.product, self.max_attempts, self.max_wait = product, max_attempts, max_wait
        self.backoff = backoff
        self._transport = GatedTransport()  # passes every request once `govern` set a gate
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers=headers,
            auth=auth,
            timeout=timeout,
            transport=self._transport,
        )

    def govern(self, gate: ApiGate) -> None:
        """Send every request through `gate`: egress rules and the account's shared budget."""
        self._transport.gate = gate

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        settled: Callable[[], ApiResponse | None] | None = None,
    ) -> ApiResponse:
        """The response of a call that got an answer (2xx or a 4xx the caller interprets).

        `settled`, for a call that is not idempotent, is asked before every retry once
        an attempt failed in a way that may have landed (5xx, timeout, unreadable body):
        its response, if any, stands for the call's, and nothing is sent again.
        Raises FatalError for 401/403 (the credentials) and RetriableError when retries
        ran out."""
        retrying = Retrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=self._wait,
            retry=retry_if_exception_type(_Transient),
            reraise=True,
        )
        maybe_landed = False  # stays True: an earlier attempt may land after a later 429
        try:
            for attempt in retrying:
                with attempt:
                    if settled is not None and maybe_landed:
                        done = settled()
                        if done is not None:
                            log.info(
                                "%s %s %s: the earlier attempt had landed; not sent again",
                                self.product,
                                method,
                                path,
                            )
                            return done
                    try:
                        return self._once(method, path, json, params, headers)
                    except _Transient as exc:
                        maybe_landed = maybe_landed or exc.may_have_landed
                        raise
        except _Transient as exc:
            raise RetriableError(
                f"{self.product} {method} {path}: gave up after {self.max_attempts} attempts; last: {exc}"
            ) from None
        raise AssertionError("unreachable")  # pragma: no cover - Retrying reraises

    def _once(
        self, method: str, path: str, json: Any, params: dict[str, Any] | None, headers: dict[str, str] | None
    ) -> ApiResponse:
        try:
            resp = self._client.request(
                method,
                path,
                params=params,
                content=orjson.dumps(json) if json is not None else None,
                headers={"Content-Type": "application/json", **(headers or {})},
            )
        except httpx.TransportError as exc:  # timeouts, refused and dropped connections
            raise _Transient(f"{type(exc).__name__}: {exc}") from exc
        if resp.status_code in _RETRY_STATUSES:
            raise _Transient(
                f"HTTP {resp.status_code} {_excerpt(resp.text)}",
                _retry_after(resp.headers.get("Retry-After")),
                may_have_landed=resp.status_code != 429,
            )
        if resp.status_code in (401, 403):
            raise FatalError(
                f"{self.product} refused the credentials (HTTP {resp.status_code}: "
                f"{_excerpt(resp.text)}); check the token in the destination config"
            )
        if resp.status_code == 204 or not resp.content:
            return ApiResponse(resp.status_code, None, resp.headers)
        try:
            body = orjson.loads(resp.content)
        except orjson.JSONDecodeError as exc:
            # A cut-off or HTML body: we cannot tell what the API did, and the call is
            # idempotent, so asking again is the safe answer.
            raise _Transient(
                f"HTTP {resp.status_code} with a body that is not JSON: {_excerpt(resp.text)}"
            ) from exc
        return ApiResponse(resp.status_code, body, resp.headers)

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Transient) and exc.retry_after is not None:
            wait = exc.retry_after
        else:
            wait = self.backoff * 2 ** (state.attempt_number - 1)
        wait = min(wait, self.max_wait)
        log.warning(
            "%s: %s; retrying in %.1f s (attempt %d of %d)",
            self.product,
            exc,
            wait,
            state.attempt_number,
            self.max_attempts,
        )
        return wait

    def close(self) -> None:
        self._client.close()


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None  # an HTTP date; the exponential back-off is close enough


def _excerpt(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."
