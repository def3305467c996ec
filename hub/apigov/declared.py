"""What a connector declares about its vendor's API, in `connectors/<name>/api.yaml`:
the hosts it may call, the write methods its read API needs, and the documented limits.

A connector without the file declares nothing: its connections may call only the hosts
crossdock.yaml allows (and the loopback sandbox) and are not rate-limited by default.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from hub.apigov.budget import Budget
from hub.errors import ConfigError
from hub.workspace.locate import BUILTIN_ROOT
from hub.yaml_lines import line_of, load_yaml_with_lines

_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when there: 10x faster

__all__ = ["ApiDeclaration", "declaration_for", "declaration_in", "UNDECLARED"]

_WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class ApiDeclaration(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    hosts: list[str] = Field(default_factory=list, description="host names; `*.` for a subdomain")
    # "POST /crm/v3/objects/*/search": a write method a read connection may call
    read_writes: list[str] = Field(default_factory=list)
    budget: Budget = Field(default_factory=Budget)

    @field_validator("read_writes")
    @classmethod
    def _method_and_path(cls, value: list[str]) -> list[str]:
        for entry in value:
            method, _, path = entry.partition(" ")
            if method not in _WRITE_METHODS or not path.startswith("/"):
                raise ValueError(f"`{entry}`: write as `POST /a/path/*` (POST, PUT, PATCH or DELETE)")
        return value

    @property
    def default_host(self) -> str | None:
        """The vendor's host when a config names no base_url (for the account's name)."""
        return next((h for h in self.hosts if "*" not in h), None)


UNDECLARED = ApiDeclaration()


def declaration_for(workspace_root: Path, connector: str | None) -> ApiDeclaration:
    """`connectors/<connector>/api.yaml` (the workspace's own first, then Crossdock's)."""
    if not connector:
        return UNDECLARED
    for root in (workspace_root.resolve(), BUILTIN_ROOT):
        if (root / "connectors" / connector).is_dir():
            return declaration_in(root / "connectors" / connector)
    return UNDECLARED


def declaration_in(folder: Path) -> ApiDeclaration:
    """The `api.yaml` in a connector's folder (beside its manifest), or none."""
    path = folder / "api.yaml"
    return _load(path) if path.is_file() else UNDECLARED


@lru_cache(maxsize=64)
def _load(path: Path) -> ApiDeclaration:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_SafeLoader) or {}
        return ApiDeclaration.model_validate(data)
    except yaml.YAMLError as exc:
        raise ConfigError(f"cannot read the API declaration: {exc}", file=str(path)) from exc
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(str(p) for p in err["loc"])
        raise ConfigError(
            err["msg"], file=str(path), line=line_of(load_yaml_with_lines(path), loc), key=".".join(loc)
        ) from exc
