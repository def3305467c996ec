"""YAML loading that remembers the line of every key, so errors can name file:line."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import yaml

from hub.errors import ConfigError

__all__ = ["LineDict", "load_yaml_with_lines", "line_of"]


class LineDict(dict[str, Any]):
    """A dict that also knows the 1-based line of each key (and of itself)."""

    line: int = 0
    key_lines: dict[str, int]


# libyaml's parser when PyYAML has it (the pure-Python one was most of a sync's fixed cost:
# every run loads the workspace and its mappings several times); the same documents result.
try:
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # PyYAML built without libyaml
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]


class _LineLoader(_BaseLoader):
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> LineDict:  # type: ignore[override]
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key `{key}`", key_node.start_mark
                )
            seen.add(key)
        # PyYAML types keys as Hashable; the hub's YAML files key their mappings by strings.
        result = LineDict(cast("dict[str, Any]", super().construct_mapping(node, deep=True)))
        result.line = node.start_mark.line + 1
        result.key_lines = {self.construct_object(k, deep=True): k.start_mark.line + 1 for k, _ in node.value}
        return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _LineLoader.construct_mapping)


def load_yaml_with_lines(path: Path) -> Any:
    """Parse `path`; a syntax error becomes a ConfigError naming file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the file: {exc.strerror}", file=str(path)) from exc
    try:
        return yaml.load(text, Loader=_LineLoader)  # SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or str(exc)
        if exc.context and exc.context_mark and exc.context_mark.line + 1 != line:
            # e.g. an unclosed `[` is noticed lines after it was opened: name both places.
            problem += f" ({exc.context} at line {exc.context_mark.line + 1})"
        raise ConfigError(f"invalid YAML: {problem}", file=str(path), line=line) from exc


def line_of(root: Any, loc: tuple[Any, ...]) -> int | None:
    """The line of the deepest key on `loc` that the document holds."""
    node, line = root, getattr(root, "line", None)
    for part in loc:
        if isinstance(node, LineDict) and part in node:
            line = node.key_lines.get(part, line)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
            line = getattr(node, "line", line)
        else:
            break
    return line
