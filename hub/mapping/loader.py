"""Load a mapping file: validate it (errors name file:line), compile it once."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from hub.canonical import ENTITIES, CanonicalField, Entity, FieldType
from hub.errors import ConfigError
from hub.mapping.compiler import (
    CompiledField,
    MappingBatch,
    compile_filter,
    mask_paths,
    run_batch,
    source_of,
    unmapped_remainder,
)
from hub.mapping.functions import FUNCTIONS, Fn
from hub.mapping.model import FieldRule, MappingFile
from hub.yaml_lines import LineDict, line_of, load_yaml_with_lines

__all__ = ["CompiledMapping", "load_mapping"]


@dataclass
class CompiledMapping:
    name: str  # "<source>/<stream>"
    path: Path
    source: str
    stream: str
    entity: Entity
    version: str  # content hash: which mapping produced a row (lineage)
    _fields: list[tuple[str, Callable[[dict[str, Any]], Any]]]
    _filters: list[Callable[[dict[str, Any]], bool]]
    pii_paths: tuple[str, ...] = ()  # source paths that feed personal-data fields
    # field -> the record path it is copied from unchanged (`path:` with no `apply:`), or None
    # for a constant (`const:`); other fields are not here. Reconcile finds a record id in a key.
    sources: dict[str, str | None] = field(default_factory=dict)
    filter_paths: tuple[str, ...] = ()  # the record paths its `filter:` rules read

    @property
    def key(self) -> tuple[str, ...]:
        return self.entity.key

    def columns(self) -> dict[str, FieldType]:
        mapped = {name for name, _ in self._fields}
        return {f.name: f.type for f in self.entity.fields if f.name in mapped}

    def map_batch(self, records: list[dict[str, Any]]) -> MappingBatch:
        return run_batch(self.entity, self._fields, self._filters, records)

    def narrowed(self, names: Iterable[str]) -> CompiledMapping:
        """The same mapping (filters, version) producing only the fields `names`: e.g. a key
        and a change time from a keys-only read, whose other fields are absent."""
        keep = set(names)
        return replace(self, _fields=[(n, fn) for n, fn in self._fields if n in keep])

    def mask_pii(self, record: dict[str, Any], key: bytes) -> dict[str, Any]:
        """A copy of a source record with its personal data pseudonymised, for dead letters."""
        return mask_paths(record, self.pii_paths, key) if self.pii_paths else record


def load_mapping(path: str | Path) -> CompiledMapping:
    path = Path(path).resolve()
    file = str(path)
    raw = load_yaml_with_lines(path)
    if not isinstance(raw, LineDict):
        raise ConfigError(
            "a mapping must be a YAML mapping with source, stream, entity, fields", file=file, line=1
        )
    try:
        model = MappingFile.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        loc = tuple(p for p in loc if not (isinstance(p, str) and p.startswith("function-")))
        key = ".".join(str(p) for p in loc)
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        more = f" (and {len(exc.errors()) - 1} more problems)" if len(exc.errors()) > 1 else ""
        raise ConfigError(f"{msg}{more}", file=file, line=line_of(raw, loc), key=key) from exc

    if model.entity not in ENTITIES:
        raise ConfigError(
            f"unknown entity `{model.entity}`; known: {', '.join(sorted(ENTITIES))}",
            file=file,
            line=line_of(raw, ("entity",)),
            key="entity",
        )
    entity = _extended(ENTITIES[model.entity], model, raw, file)
    targets = entity.field_map()
    compiled: list[tuple[str, Callable[[dict[str, Any]], Any]]] = []
    pii_paths: list[str] = []
    for name, rule in model.fields.items():
        if name not in targets:
            raise ConfigError(
                f"entity `{entity.name}` has no field `{name}`; its fields: {', '.join(targets)} "
                "(a field of your own: declare it under `custom_fields:` with its type)",
                file=file,
                line=line_of(raw, ("fields", name)),
                key=f"fields.{name}",
            )
        source, getter = source_of(rule)
        steps = _compile_steps(rule, raw, file, name)
        pii = targets[name].pii if rule.pii is None else rule.pii
        if pii:
            pii_paths += [rule.path] if rule.path else list(rule.coalesce or [])
        compiled.append(
            (
                name,
                CompiledField(
                    name, targets[name], source, getter, steps, rule.on_error == "null", pii
                ).build(),
            )
        )
    if model.keep_unmapped is not None:
        if model.keep_unmapped in model.fields:
            raise ConfigError(
                f"`keep_unmapped: {model.keep_unmapped}` names a mapped field; give the JSON column "
                "a name of its own (e.g. `extra`)",
                file=file,
                line=line_of(raw, ("keep_unmapped",)),
                key="keep_unmapped",
            )
        read = [p for r in model.fields.values() for p in ([r.path] if r.path else list(r.coalesce or []))]
        compiled.append((model.keep_unmapped, unmapped_remainder(read)))
    missing = [f.name for f in entity.fields if f.required and f.name not in model.fields]
    if missing:
        raise ConfigError(
            f"entity `{entity.name}` requires {', '.join(f'`{m}`' for m in missing)};"
            " add them under `fields:`",
            file=file,
            line=line_of(raw, ("fields",)),
            key="fields",
        )
    # Fields in the entity's order, so table columns are stable whatever the file's order.
    order = {f.name: i for i, f in enumerate(entity.fields)}
    compiled.sort(key=lambda item: order[item[0]])
    return CompiledMapping(
        name=f"{model.source}/{model.stream}",
        path=path,
        source=model.source,
        stream=model.stream,
        entity=entity,
        version=hashlib.sha256(path.read_bytes()).hexdigest()[:12],
        _fields=compiled,
        _filters=[compile_filter(f) for f in model.filter],
        filter_paths=tuple(f.path for f in model.filter),
        pii_paths=tuple(pii_paths),
        sources={
            name: rule.path
            for name, rule in model.fields.items()
            if (rule.path is not None and not rule.apply) or "const" in rule.model_fields_set
        },
    )


def _extended(base: Entity, model: MappingFile, raw: LineDict, file: str) -> Entity:
    """The entity with this mapping's custom fields (and its keep_unmapped column) added
    after its own; a name the entity already has is refused, never silently retyped."""
    if not model.custom_fields and model.keep_unmapped is None:
        return base
    own = base.field_map()
    added: list[CanonicalField] = []
    for name, custom in model.custom_fields.items():
        problem = (
            f"`{name}` is already a field of entity `{base.name}` ({own[name].type}); "
            "map it under `fields:` or give the custom field another name"
            if name in own
            else f"custom field `{name}`: use lower case letters, digits and _ (a column name)"
            if not _NAME.fullmatch(name)
            else None
        )
        if problem:
            raise ConfigError(
                problem, file=file, line=line_of(raw, ("custom_fields", name)), key=f"custom_fields.{name}"
            )
        added.append(CanonicalField(name, custom.type, False, custom.description, custom.pii))
    if model.keep_unmapped is not None:
        if model.keep_unmapped in own or model.keep_unmapped in model.custom_fields:
            raise ConfigError(
                f"`keep_unmapped: {model.keep_unmapped}` is already a field of entity `{base.name}`; "
                "give the JSON column a name of its own (e.g. `extra`)",
                file=file,
                line=line_of(raw, ("keep_unmapped",)),
                key="keep_unmapped",
            )
        added.append(CanonicalField(model.keep_unmapped, "json", False, "source fields no mapping reads"))
    return Entity(base.name, base.key, base.fields + tuple(added))


_NAME = re.compile(r"[a-z_][a-z0-9_]*")


def _compile_steps(rule: FieldRule, raw: LineDict, file: str, name: str) -> list[Fn]:
    steps: list[Fn] = []
    for i, step in enumerate(rule.apply):
        loc = ("fields", name, "apply", i)
        args: dict[str, Any]
        if isinstance(step, str):
            fname, args = step, {}
        elif len(step) == 1:
            fname, given = next(iter(step.items()))
            args = given or {}
        else:
            raise ConfigError(
                "each step is a function name or `{name: {arguments}}`",
                file=file,
                line=line_of(raw, loc),
                key=f"fields.{name}.apply",
            )
        if fname not in FUNCTIONS:
            raise ConfigError(
                f"unknown function `{fname}`; known: {', '.join(sorted(FUNCTIONS))}",
                file=file,
                line=line_of(raw, loc),
                key=f"fields.{name}.apply",
            )
        try:
            steps.append(FUNCTIONS[fname](**args))
        except TypeError as exc:
            raise ConfigError(
                f"function `{fname}`: {exc}", file=file, line=line_of(raw, loc), key=f"fields.{name}.apply"
            ) from exc
    return steps
