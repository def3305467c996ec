"""A mapping file as validated models (what the YAML may say, nothing more)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["CustomField", "FieldRule", "FilterRule", "MappingFile"]

# `apply: [trim, {e164: {region: US}}]`: a name, or a one-key mapping of name -> arguments.
Step = str | dict[str, dict[str, Any] | None]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldRule(_Strict):
    path: str | None = None
    coalesce: list[str] | None = Field(default=None, min_length=1)
    const: Any = None
    apply: list[Step] = Field(default_factory=list)
    on_error: Literal["dead_letter", "null"] = "dead_letter"
    pii: bool | None = None  # None: as the entity says

    @model_validator(mode="after")
    def _one_source(self) -> FieldRule:
        given = [k for k in ("path", "coalesce", "const") if k in self.model_fields_set]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of `path`, `coalesce` or `const`"
                + (f" (got {', '.join(given)})" if given else "")
            )
        return self


class FilterRule(_Strict):
    path: str
    equals: Any = None
    not_equals: Any = None
    in_: list[Any] | None = Field(default=None, alias="in")
    not_in: list[Any] | None = None
    exists: bool | None = None

    @model_validator(mode="after")
    def _one_test(self) -> FilterRule:
        tests = [k for k in ("equals", "not_equals", "in_", "not_in", "exists") if k in self.model_fields_set]
        if len(tests) != 1:
            raise ValueError("a filter needs exactly one of equals, not_equals, in, not_in, exists")
        return self


class CustomField(_Strict):
    """A field this workspace adds to the canonical entity (a plan name, a loyalty tier)."""

    type: Literal["string", "integer", "number", "boolean", "datetime", "json"]
    description: str = ""
    pii: bool = False


class MappingFile(_Strict):
    source: str
    stream: str
    entity: str
    description: str = ""
    filter: list[FilterRule] = Field(default_factory=list)
    # Declared, typed columns beyond the entity's own; mapped under `fields:` like any other.
    custom_fields: dict[str, CustomField] = Field(default_factory=dict)
    # A JSON column (named here) holding what the source sent that no field reads.
    keep_unmapped: str | None = Field(default=None, pattern=r"^[a-z_][a-z0-9_]*$")
    fields: dict[str, FieldRule]
