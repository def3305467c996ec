"""The read API: profiles, timelines and entity pages, each answer cut to the key's scope.

Every request under /v1 needs a key (hub/readapi/keys.py); what it gets back is what its scope
and the data policies allow (hub/readapi/policy.py), and it is audited before it is sent
(hub/readapi/access_log.py): `api.read` for an answer, `api.refused` for a refusal. A bad
request is a 4xx with `{"error", "reason"}`, a failure a 5xx with the same shape: never a stack
trace.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from hub.canonical import ENTITIES, PERSON_ENTITIES
from hub.context import HubContext
from hub.errors import HubError
from hub.identity.normalize import normalize_email
from hub.identity.run import EVENT_ENTITIES
from hub.readapi.access_log import AccessLog
from hub.readapi.keys import KEY_RECHECK_SECONDS, ApiKey, KeyCache, KeyRefused
from hub.readapi.limits import RateLimiter, open_buckets
from hub.readapi.policy import profile_if_visible, visible_profiles
from hub.readapi.scope import PROFILE, Scope
from hub.readapi.warehouse import CHANGED_AT, Warehouse, open_warehouse
from hub.redaction import redact

__all__ = ["create_app", "ReadApi", "profile_hash", "LeanProfiles", "profile_answer"]

_MAX_PAGE = 1000
_log = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(self, status: int, error: str, reason: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(reason)
        self.status, self.error, self.reason, self.headers = status, error, reason, headers


class ErrorOut(BaseModel):
    error: str
    reason: str


_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": text}
    for code, text in (
        (400, "a bad parameter or cursor"),
        (401, "no key, or a key that is unknown, revoked or expired"),
        (403, "the key's scope does not cover this"),
        (404, "no such profile or entity, or none this key may see"),
        (429, "the key's rate limit; Retry-After says when to try again"),
        (503, "the warehouse is not ready (nothing synced or stitched yet) or the audit log refuses"),
    )
}


def profile_hash(profile_id: str) -> str:
    """How the audit log names a profile: sha256 of its id, 16 hex digits."""
    return hashlib.sha256(profile_id.encode()).hexdigest()[:16]


class ReadApi:
    """What the app's handlers share: the store, the audit writer, rate buckets, the warehouse."""

    def __init__(
        self, ctx: HubContext, key_recheck_seconds: float = KEY_RECHECK_SECONDS, rate_store: str | None = None
    ) -> None:
        self.ctx, self.engine = ctx, ctx.engine
        self.access = AccessLog(ctx.audit)
        self.buckets = open_buckets(self.engine, rate_store)
        self.limiter = RateLimiter(self.buckets)
        self.keys = KeyCache(self.engine, recheck_seconds=key_recheck_seconds)
        self._warehouse: Warehouse | None = None

    @property
    def warehouse(self) -> Warehouse:
        # Opened on first use, in the event loop's thread, the only one that queries it.
        if self._warehouse is None:
            self._warehouse = open_warehouse(self.ctx)
        return self._warehouse

    def close(self) -> None:
        self.access.close()
        self.buckets.close()
        if self._warehouse is not None:
            self._warehouse.close()

    async def read(
        self,
        endpoint: str,
        key: ApiKey,
        entity: str,
        *,
        records: int,
        profiles: Sequence[str] = (),
        withheld: int = 0,
        status: int = 200,
    ) -> None:
        details = {
            "endpoint": endpoint,
            "status": status,
            "records": records,
            "withheld": withheld,
            "profiles": sorted({profile_hash(p) for p in profiles}),
            "key_id": key.id,
        }
        await self._audit("api.read", key.name, entity, details)

    async def refused(
        self, endpoint: str, actor: str | None, target: str | None, status: int, reason: str
    ) -> None:
        details = {"endpoint": endpoint, "status": status, "reason": reason}
        await self._audit("api.refused", actor or "anonymous", target, details)

    async def _audit(self, action: str, actor: str, target: str | None, details: dict[str, Any]) -> None:
        try:
            await self.access.record(action, actor, target, details)
        except Exception as exc:
            raise _AuditDown(f"the audit log refuses new entries, so no data is served: {exc}") from exc


class _AuditDown(Exception):
    pass


def _endpoint(request: Request) -> str:
    route = request.scope.get("route")
    return f"{request.method} {getattr(route, 'path', request.url.path)}"


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(body, default=str), status_code=status, media_type="application/json", headers=headers
    )


def _bearer_token(request: Request) -> str | None:
    """The token of `Authorization: Bearer <token>` (read here, not by FastAPI's HTTPBearer
    dependency: a nested dependency costs each request more than the lookup it guards)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


async def _authorized(api: ReadApi, token: str | None) -> ApiKey:
    """The key a request presents, within its rate; ApiError (401, 429) if not."""
    try:
        key = api.keys.find(token)
    except KeyRefused as exc:
        raise ApiError(401, "unauthorized", str(exc), {"WWW-Authenticate": "Bearer"}) from None
    # A lease of the key's shared bucket is spent in memory; taking a new one is a store (or
    # Redis) transaction, kept off the event loop.
    if not api.limiter.take_local(key.id):
        wait = await asyncio.to_thread(api.limiter.take, key.id, key.rate_per_second)
    else:
        wait = 0
    if wait:
        raise _RateLimited(
            key.name,
            f"key `{key.name}` may make {key.rate_per_second:g} requests a second; retry in {wait}s",
            {"Retry-After": str(wait)},
        )
    return key


class _RateLimited(ApiError):
    def __init__(self, key_name: str, reason: str, headers: dict[str, str]) -> None:
        super().__init__(429, "rate_limited", reason, headers)
        self.key_name = key_name


async def authenticate(request: Request) -> ApiKey:
    try:
        key = await _authorized(request.app.state.api, _bearer_token(request))
    except _RateLimited as exc:
        request.state.key_name = exc.key_name
        raise
    request.state.key_name = key.name
    return key


Key = Annotated[ApiKey, Depends(authenticate)]


def _require(key: ApiKey, entity: str) -> None:
    if entity not in key.scope.entities:
        raise ApiError(
            403,
            "forbidden",
            f"key `{key.name}` may not read `{entity}` (its scope: {key.scope.describe()})",
        )


def _shape(row: dict[str, Any], hidden: frozenset[str]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in hidden}


def _cursor(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(data)).decode().rstrip("=")


def _uncursor(text: str, **expect: Any) -> list[Any]:
    """The position a cursor holds; 400 if it is not one this API gave out for this query."""
    try:
        data = orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        position = data["k"]
        ok = (
            isinstance(data, dict)
            and isinstance(position, list)
            and all(isinstance(v, str) for v in position)
        )
    except (binascii.Error, ValueError, KeyError, TypeError):
        ok = False
    if not ok or any(data.get(k) != v for k, v in expect.items()):
        raise ApiError(
            400, "bad_cursor", "cursor is not one this API gave out for this query (or was altered)"
        )
    return list(position)


def _visible_profile(api: ReadApi, key: ApiKey, profile_id: str) -> tuple[str, dict[str, Any] | None, bool]:
    """(profile id after merges, its row, whether the key may see it)."""
    w = api.warehouse
    pid = w.redirect(profile_id) or profile_id
    row, visible = profile_if_visible(w, key.scope, pid)
    return pid, row, visible


_NOT_VISIBLE = "no profile `{}` that this key may see (unknown, or its consent or region rules it out)"


def create_app(
    ctx: HubContext, *, key_recheck_seconds: float = KEY_RECHECK_SECONDS, rate_store: str | None = None
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        app.state.api.close()

    app = FastAPI(
        title="Crossdock read API",
        version="1",
        description="Profiles, timelines and synced entities, cut to each API key's scope; every "
        "access audited. See docs/read-api.md.",
        lifespan=lifespan,
        # FastAPI's own OpenTelemetry hooks: the hub reports nowhere, and they cost each request
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.state.api = ReadApi(ctx, key_recheck_seconds, rate_store)
    _handlers(app)
    _document_bearer(app)

    @app.get("/v1/profiles/{profile_id}", responses=_ERRORS, summary="A profile's golden record")
    async def get_profile(profile_id: str, request: Request, key: Key) -> Response:
        # Served by LeanProfiles (below) without FastAPI's routing; the same answer here, for
        # the OpenAPI page and for callers of this app without the lean path.
        status, body = await profile_answer(request.app.state.api, key, profile_id)
        return _json(status, body)

    @app.get("/v1/profiles", responses=_ERRORS, summary="Profiles holding an email address")
    async def find_profiles(
        email: Annotated[str, Query(min_length=3)], request: Request, key: Key
    ) -> Response:
        api: ReadApi = request.app.state.api
        _require(key, PROFILE)
        if not key.scope.shows(PROFILE, "email"):
            raise ApiError(
                403, "forbidden", f"key `{key.name}` does not see emails, so it may not look up by one"
            )
        normal = normalize_email(email)
        if normal is None:
            raise ApiError(400, "bad_request", "`email` is not an email address")
        w = api.warehouse
        ids = {w.redirect(pid) or pid for pid in w.by_email(normal)}
        visible = visible_profiles(w, key.scope, ids)
        hidden = key.scope.hidden(PROFILE)
        rows = [_shape(r, hidden) for pid in sorted(visible) if (r := w.profile(pid)) is not None]
        await api.read(
            _endpoint(request),
            key,
            PROFILE,
            records=len(rows),
            profiles=sorted(ids),
            withheld=len(ids) - len(rows),
        )
        return _json(200, {"data": rows, "withheld": len(ids) - len(rows), "withheld_fields": sorted(hidden)})

    @app.get(
        "/v1/profiles/{profile_id}/timeline", responses=_ERRORS, summary="A profile's events, oldest first"
    )
    async def get_timeline(
        profile_id: str,
        request: Request,
        key: Key,
        limit: Annotated[int, Query(ge=1, le=_MAX_PAGE)] = 100,
        cursor: str | None = None,
    ) -> Response:
        api: ReadApi = request.app.state.api
        _require(key, PROFILE)
        pid, row, visible = _visible_profile(api, key, profile_id)
        after = _uncursor(cursor, p=pid) if cursor else None
        if row is None or not visible:
            return await _not_visible(api, request, key, pid, row is not None, profile_id)
        events = api.warehouse.timeline(pid, (after[0], after[1], after[2]) if after else None, limit)
        # A timeline shows the events of entities the key may read; contact events come with `profile`.
        shown = [e for e in events if _event_entity(e["event"]) in key.scope.entities | {"contact"}]
        last = events[-1] if len(events) == limit else None
        next_cursor = (
            _cursor({"p": pid, "k": [_iso(last["occurred_at"]), last["record_key"], last["event"]]})
            if last
            else None
        )
        await api.read(
            _endpoint(request),
            key,
            PROFILE,
            records=len(shown),
            profiles=[pid],
            withheld=len(events) - len(shown),
        )
        body = {
            "profile_id": pid,
            "data": shown,
            "next_cursor": next_cursor,
            "withheld": len(events) - len(shown),
        }
        return _json(200, body)

    @app.get(
        "/v1/entities/{entity}", responses=_ERRORS, summary="An entity's rows changed since a time, paged"
    )
    async def get_entity(
        entity: str,
        request: Request,
        key: Key,
        updated_since: datetime | None = None,
        limit: Annotated[int, Query(ge=1, le=_MAX_PAGE)] = 100,
        cursor: str | None = None,
    ) -> Response:
        api: ReadApi = request.app.state.api
        if entity not in ENTITIES:
            raise ApiError(404, "not_found", f"no entity `{entity}`; known: {', '.join(sorted(ENTITIES))}")
        _require(key, entity)
        since = (
            updated_since.replace(tzinfo=UTC) if updated_since and not updated_since.tzinfo else updated_since
        )
        since_text = since.isoformat() if since else None
        after = _uncursor(cursor, e=entity, s=since_text) if cursor else None
        w = api.warehouse
        page = w.entity_page(
            entity, since, (after[0], after[1], after[2], after[3]) if after else None, limit
        )
        kept, owners = _allowed_rows(w, key.scope, entity, [e.row for e in page])
        hidden = key.scope.hidden(entity)
        rows = [_shape(r, hidden | {CHANGED_AT}) | {"_synced_at": r[CHANGED_AT]} for r in kept]
        next_cursor = (
            _cursor({"e": entity, "s": since_text, "k": list(page[-1].order)}) if len(page) == limit else None
        )
        await api.read(
            _endpoint(request),
            key,
            entity,
            records=len(rows),
            profiles=owners,
            withheld=len(page) - len(rows),
        )
        body = {
            "data": rows,
            "next_cursor": next_cursor,
            "withheld": len(page) - len(rows),
            "withheld_fields": sorted(hidden),
        }
        return _json(200, body)

    return app


def _document_bearer(app: FastAPI) -> None:
    """The OpenAPI page shows that every /v1 endpoint takes a bearer key."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            schema.setdefault("components", {})["securitySchemes"] = {
                "HTTPBearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "an API key from `crossdock api-keys create`",
                }
            }
            for path, operations in schema["paths"].items():
                if path.startswith("/v1/"):
                    for operation in operations.values():
                        operation["security"] = [{"HTTPBearer": []}]
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]


def _event_entity(event: str) -> str:
    return event.split(" ", 1)[0]


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _allowed_rows(
    w: Warehouse, scope: Scope, entity: str, rows: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[str]]:
    """The rows the scope may see, and the profiles they belong to. A person's row goes through
    its profile's consent and region (a row on no profile is not shown: no consent is known);
    another row with a `country` through the key's regions."""
    if entity in PERSON_ENTITIES:
        keyed = [(_record_key(entity, r), r) for r in rows]
        owner = w.profiles_of_records(entity, {k for k, _ in keyed})
        visible = visible_profiles(w, scope, set(owner.values()))
        kept = [(k, r) for k, r in keyed if owner.get(k) in visible]
        return [r for _, r in kept], sorted({owner[k] for k, _ in kept})
    if scope.regions and "country" in ENTITIES[entity].field_map():
        return [r for r in rows if scope.in_region(r.get("country"))], []
    return rows, []


def _record_key(entity: str, row: dict[str, Any]) -> str:
    """The key stitching gave the record (hub/identity/run.py): contacts `source:id`, events
    `source:entity:id`."""
    if entity in EVENT_ENTITIES:
        return f"{row['source']}:{entity}:{row['source_id']}"
    return f"{row['source']}:{row['source_id']}"


def _handlers(app: FastAPI) -> None:
    async def on_api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        try:
            await request.app.state.api.refused(
                _endpoint(request),
                getattr(request.state, "key_name", None),
                request.path_params.get("entity"),
                exc.status,
                exc.reason,
            )
        except _AuditDown as down:
            return _json(503, {"error": "audit_unavailable", "reason": str(down)})
        return _json(exc.status, {"error": exc.error, "reason": exc.reason}, exc.headers)

    async def on_invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ())[1:]) or 'request'}: {e.get('msg')}"
            for e in exc.errors()
        )
        return await on_api_error(request, ApiError(400, "bad_request", problems))

    async def on_hub_error(request: Request, exc: Exception) -> Response:
        return await on_api_error(request, ApiError(503, "unavailable", redact(str(exc))))

    async def on_audit_down(request: Request, exc: Exception) -> Response:
        return _json(503, {"error": "audit_unavailable", "reason": str(exc)})

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        reason = "no such endpoint; see /docs" if exc.status_code == 404 else str(exc.detail)
        return _json(
            exc.status_code,
            {"error": "not_found" if exc.status_code == 404 else "bad_request", "reason": reason},
        )

    async def on_crash(request: Request, exc: Exception) -> Response:
        # The traceback goes to the server's log, never to the caller.
        return _json(
            500, {"error": "internal", "reason": f"the server failed ({type(exc).__name__}); see its log"}
        )

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_invalid)
    app.add_exception_handler(HubError, on_hub_error)
    app.add_exception_handler(_AuditDown, on_audit_down)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_crash)


PROFILE_ENDPOINT = "GET /v1/profiles/{profile_id}"


async def profile_answer(api: ReadApi, key: ApiKey, profile_id: str) -> tuple[int, dict[str, Any]]:
    """GET /v1/profiles/{id} for an authenticated key: (status, body), audited before it is
    returned. A profile that is not there or that the key may not see is the same 404 (a key
    cannot probe who exists), audited with the profile's hash when it exists."""
    _require(key, PROFILE)
    pid, row, visible = _visible_profile(api, key, profile_id)
    if row is None or not visible:
        return 404, await _audited_not_visible(api, PROFILE_ENDPOINT, key, pid, row is not None, profile_id)
    hidden = key.scope.hidden(PROFILE)
    data = _shape(row, hidden) | ({"redirected_from": profile_id} if pid != profile_id else {})
    await api.read(PROFILE_ENDPOINT, key, PROFILE, records=1, profiles=[pid])
    return 200, {"data": data, "withheld_fields": sorted(hidden)}


async def _not_visible(
    api: ReadApi, request: Request, key: ApiKey, pid: str, exists: bool, asked: str
) -> Response:
    """404 for a profile that is not there or that the key may not see (the same answer, so a
    key cannot probe who exists), audited with the profile's hash when it exists."""
    return _json(404, await _audited_not_visible(api, _endpoint(request), key, pid, exists, asked))


async def _audited_not_visible(
    api: ReadApi, endpoint: str, key: ApiKey, pid: str, exists: bool, asked: str
) -> dict[str, Any]:
    """The 404 body for a profile not there or not visible to the key, once its access is audited."""
    await api.read(
        endpoint,
        key,
        PROFILE,
        records=0,
        profiles=[pid] if exists else [],
        withheld=int(exists),
        status=404,
    )
    return {"error": "not_found", "reason": _NOT_VISIBLE.format(asked)}


_PROFILE_PREFIX = "/v1/profiles/"
_JSON_HEADER = (b"content-type", b"application/json")
_Scope = MutableMapping[str, Any]
_Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
_Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class LeanProfiles:
    """The app as served: `GET /v1/profiles/{id}`, the hot endpoint, answered by a small ASGI
    handler, everything else passed to the FastAPI app.

    FastAPI's routing, request objects and dependency solving cost each request more than the
    lookup itself (docs/benchmarks.md). This handler makes the same checks in the same order as
    the FastAPI route and its handlers (key, rate, scope, consent and regions, fields) and gives
    the same answers, refusals included, each audited before it is sent (`profile_answer` is
    shared; a refusal goes through `ReadApi.refused` as the FastAPI handlers do). The FastAPI
    route stays, so the OpenAPI page documents the endpoint.
    """

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.api: ReadApi = app.state.api

    async def __call__(self, scope: _Scope, receive: _Receive, send: _Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            path: str = scope["path"]
            profile_id = path[len(_PROFILE_PREFIX) :]
            if path.startswith(_PROFILE_PREFIX) and profile_id and "/" not in profile_id:
                await self._profile(scope, profile_id, send)
                return
        await self.app(scope, receive, send)

    async def _profile(self, scope: _Scope, profile_id: str, send: _Send) -> None:
        api, actor = self.api, None
        try:
            try:
                key = await _authorized(api, _token_of(scope))
                actor = key.name
                status, body = await profile_answer(api, key, profile_id)
                headers = None
            except HubError as exc:  # the warehouse is not ready: as the app's handler says it
                raise ApiError(503, "unavailable", redact(str(exc))) from exc
        except ApiError as exc:
            actor = exc.key_name if isinstance(exc, _RateLimited) else actor
            try:
                await api.refused(PROFILE_ENDPOINT, actor, None, exc.status, exc.reason)
            except _AuditDown as down:
                status, body, headers = 503, {"error": "audit_unavailable", "reason": str(down)}, None
            else:
                status, body, headers = exc.status, {"error": exc.error, "reason": exc.reason}, exc.headers
        except _AuditDown as down:
            status, body, headers = 503, {"error": "audit_unavailable", "reason": str(down)}, None
        except Exception as exc:  # the traceback goes to the server's log, never to the caller
            _log.exception("GET %s failed", scope["path"])
            status, headers = 500, None
            body = {"error": "internal", "reason": f"the server failed ({type(exc).__name__}); see its log"}
        data = orjson.dumps(body, default=str)
        raw = [_JSON_HEADER, (b"content-length", str(len(data)).encode())]
        if headers:
            raw += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": data})


def _token_of(scope: _Scope) -> str | None:
    """The bearer token of an ASGI request's `Authorization` header (as `_bearer_token`)."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return (token.strip() or None) if scheme.lower() == "bearer" else None
    return None
