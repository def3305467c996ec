"""The governed read API: profiles and synced entities over HTTP, through scoped API keys.

`crossdock serve-api` runs it; `crossdock api-keys` makes and revokes keys; docs/read-api.md.
FastAPI and uvicorn load only when the server starts.
"""

from hub.readapi.keys import ApiKey, ApiKeyRow, create_key, find_key, list_keys, revoke_key
from hub.readapi.scope import Scope, parse_scope

__all__ = ["ApiKey", "ApiKeyRow", "Scope", "create_key", "find_key", "list_keys", "parse_scope", "revoke_key"]
