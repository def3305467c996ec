"""`crossdock mapping test FILE`: a dry run of a mapping on sample records."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from hub.cli.common import handle_errors
from hub.errors import ConfigError

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True)


@app.command("test")
@handle_errors
def test_mapping(
    file: Path,
    sample: Annotated[int, typer.Option("--sample", "-n", help="records to preview")] = 5,
    input_file: Annotated[
        Path | None,
        typer.Option(
            "--input",
            help="JSON array or JSON-lines file of source records "
            "(default: records from the sandbox's seeded data)",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Map sample records with FILE and show input beside output; writes nothing."""
    from hub.mapping import load_mapping
    from hub.mapping.preview import preview, render_preview

    mapping = load_mapping(file)
    records = _read_records(input_file) if input_file else _sandbox_records(mapping, sample)
    print(render_preview(preview(mapping, records, sample), as_json=as_json))


def _read_records(path: Path) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8").strip()
    try:
        if text.startswith("["):
            return list(orjson.loads(text))
        return [orjson.loads(line) for line in text.splitlines() if line.strip()]
    except orjson.JSONDecodeError as exc:
        raise ConfigError(f"not JSON or JSON lines: {exc}", file=str(path)) from exc


def _sandbox_records(mapping: Any, sample: int) -> list[dict[str, Any]]:
    from hub.sandbox import Sandbox

    sb = Sandbox(seed=42, scale=max(sample * 10, 100), port=0)
    product = getattr(sb, mapping.source, None)
    if product is None:
        raise ConfigError(f"the sandbox has no `{mapping.source}` data; pass --input FILE")
    return list(product.objects(mapping.stream).values())[:sample]
