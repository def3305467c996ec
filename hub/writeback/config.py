"""What a write-back connector's `destination.config` may hold, and how it is checked.

Each connector declares a pydantic model (its `Config`) on top of `WritebackConfig`,
which carries what every connector takes: `base_url` and the HTTP client's retry
and timeout knobs. The config is checked twice. When the workspace loads, only its
keys: an unknown or missing key is a mistake in crossdock.yaml whatever the values,
while a value may still be a `${secret:X}` or `${env:X}` reference resolved later.
When the connector is built, the resolved values are type-checked too. Both name
crossdock.yaml's line and the key, as every workspace error does.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_core import ErrorDetails, PydanticCustomError

from hub.errors import ConfigError
from hub.yaml_lines import line_of, load_yaml_with_lines

__all__ = [
    "ConfigSection",
    "WritebackConfig",
    "missing_key",
    "check_config_keys",
    "validate_config",
    "secret_values",
]

M = TypeVar("M", bound=BaseModel)

# The errors that are about keys, not values: a `${...}` reference cannot change them.
_KEY_ERRORS = {"extra_forbidden", "missing"}


class ConfigSection(BaseModel):
    """A strict part of a connector's config (e.g. its `credentials` mapping): unknown keys
    are refused and an empty secret is a missing one."""

    # A YAML number where a string is wanted (an audience id, a list id) is what was meant.
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)

    @field_validator("*", mode="after")
    @classmethod
    def _secret_not_empty(cls, value: Any, info: ValidationInfo) -> Any:
        # An empty token is a reference that resolved to nothing: refused before any call.
        if isinstance(value, SecretStr) and not value.get_secret_value():
            raise ValueError(f"needs `{info.field_name}`, which is empty")
        return value


class WritebackConfig(ConfigSection):
    """What every write-back connector takes; a connector's own model extends it."""

    base_url: str | None = Field(default=None, description="the API's URL, e.g. the sandbox's")
    max_attempts: int = Field(default=6, ge=1, le=100, description="tries per call before the stream fails")
    backoff_factor: float = Field(
        default=0.5, ge=0, description="seconds before the first retry, doubling after"
    )
    timeout: float = Field(default=30.0, gt=0, description="seconds to wait for one response")


def missing_key(message: str) -> PydanticCustomError:
    """For a model validator to raise when one of several keys must be given: reported, like
    a missing required key, when the workspace loads (`message` says which keys)."""
    return PydanticCustomError("missing", message)


def check_config_keys(
    model: type[BaseModel], config: Any, *, connector: str, file: str, raw: Any, loc: tuple[str, ...]
) -> None:
    """Unknown and missing keys in an unresolved config (workspace load time); values are
    left to `validate_config`, since they may be references. `raw` is the line-aware
    document and `loc` the config's path in it."""
    try:
        model.model_validate(config)
    except ValidationError as exc:
        errors = [e for e in exc.errors() if e["type"] in _KEY_ERRORS]
        if errors:
            raise _config_error(model, errors, connector=connector, file=file, raw=raw, loc=loc) from None


def validate_config(
    model: type[M],
    config: Any,
    *,
    connector: str,
    file: str | Path | None = None,
    raw: Any = None,
    loc: tuple[str, ...] = ("destination", "config"),
) -> M:
    """The resolved config as the connector's model. Without `raw`, the file is read again
    for the line of the key at fault."""
    if isinstance(config, model):
        return config
    try:
        return model.model_validate(config)
    except ValidationError as exc:
        if file is not None and raw is None:
            try:
                raw = load_yaml_with_lines(Path(file))
            except ConfigError:
                raw = None  # the file changed under us: name the key without its line
        raise _config_error(
            model,
            exc.errors(),
            connector=connector,
            file=str(file) if file is not None else None,
            raw=raw,
            loc=loc,
        ) from None


def secret_values(config: BaseModel) -> list[str]:
    """Every `SecretStr` in the config, nested models included: what to redact."""
    found: list[str] = []
    for name in type(config).model_fields:
        _collect(getattr(config, name), found)
    return found


def _collect(value: Any, found: list[str]) -> None:
    if isinstance(value, SecretStr):
        if value.get_secret_value():
            found.append(value.get_secret_value())
    elif isinstance(value, BaseModel):
        found.extend(secret_values(value))
    elif isinstance(value, Mapping):
        for item in value.values():
            _collect(item, found)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _collect(item, found)


def _config_error(
    model: type[BaseModel],
    errors: Sequence[ErrorDetails],
    *,
    connector: str,
    file: str | None,
    raw: Any,
    loc: tuple[str, ...],
) -> ConfigError:
    problems = []
    for err in _misspellings_first(model, errors):
        where = (*loc, *(str(p) for p in err["loc"]))
        line = line_of(raw, where) if raw is not None else None
        problems.append((line, ".".join(where), _message(model, err, connector)))
    if len(problems) == 1:
        line, key, message = problems[0]
        return ConfigError(message, file=file, line=line, key=key)
    listed = "\n  ".join(
        f"{file + ':' + str(line) if file and line else file or ''} (key `{key}`): {message}".lstrip()
        for line, key, message in problems
    )
    return ConfigError(f"invalid {connector} write-back config:\n  {listed}", file=file, line=problems[0][0])


def _misspellings_first(model: type[BaseModel], errors: Sequence[ErrorDetails]) -> list[ErrorDetails]:
    """Unknown keys first; a required key that an unknown one misspells is not reported
    again as missing (`acces_token` says "did you mean `access_token`?")."""
    unknown = [e for e in errors if e["type"] == "extra_forbidden"]
    meant = {_suggestion(model, e) for e in unknown} - {None}
    rest = [
        e
        for e in errors
        if e["type"] != "extra_forbidden"
        and not (e["type"] == "missing" and len(e["loc"]) == 1 and e["loc"][0] in meant)
    ]
    return unknown + rest


def _suggestion(model: type[BaseModel], err: ErrorDetails) -> str | None:
    if len(err["loc"]) != 1:
        return None
    close = difflib.get_close_matches(str(err["loc"][0]), list(model.model_fields), n=1)
    return close[0] if close else None


def _message(model: type[BaseModel], err: ErrorDetails, connector: str) -> str:
    field = str(err["loc"][-1]) if err["loc"] else ""
    top = len(err["loc"]) == 1
    if err["type"] == "extra_forbidden":
        close = _suggestion(model, err)
        hint = (
            f"did you mean `{close}`?"
            if close
            else f"{connector} write-back takes: {', '.join(model.model_fields)}"
            if top
            else "check the spelling"
        )
        return f"unknown key; {hint} (see docs/writeback.md)"
    if err["type"] == "missing" and err["msg"] == "Field required":  # not a validator's own
        info = model.model_fields.get(field) if top else None
        what = f" ({info.description})" if info is not None and info.description else ""
        return f"{connector} write-back needs `{field}`{what}"
    # A validator's own ValueError says what to do; pydantic's prefix adds nothing.
    return str(err["msg"]).removeprefix("Value error, ")
