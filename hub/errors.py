"""One root exception, split by what the caller should do next.

Every error carries a message written for the user: what went wrong, where
(file:line, stream, record) and what to do about it.
"""

from __future__ import annotations

__all__ = [
    "HubError",
    "ConfigError",
    "FatalError",
    "RetriableError",
    "SchemaChangeError",
]


class HubError(Exception):
    """Root of every error Crossdock raises on purpose."""


class ConfigError(HubError):
    """A workspace, mapping, policy or connector config is wrong: fix the file, do not retry."""

    def __init__(
        self, message: str, *, file: str | None = None, line: int | None = None, key: str | None = None
    ) -> None:
        self.file, self.line, self.key = file, line, key
        where = ""
        if file:
            where = f"{file}:{line}" if line else file
            if key:
                where += f" (key `{key}`)"
            where += ": "
        elif key:
            where = f"`{key}`: "
        super().__init__(f"{where}{message}")


class FatalError(HubError):
    """Something broke that a retry will not fix (auth refused, bad catalog)."""


class RetriableError(HubError):
    """Transient: a network blip, a rate limit that outlasted our retries, a locked database."""


class SchemaChangeError(FatalError):
    """The destination table has a column whose type cannot hold the new data.

    Nothing was written; widen or migrate the column, or map the field to a new name.
    """
