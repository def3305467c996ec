"""hub/sources/_manifest.py: shared manifest fragments are inlined where a manifest uses them."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from hub.errors import ConfigError
from hub.sources._manifest import load_manifest, with_shared_definitions


@pytest.fixture
def shared(tmp_path: Path) -> Path:
    folder = tmp_path / "_shared"
    folder.mkdir()
    (folder / "handler.yaml").write_text(
        yaml.safe_dump(
            {
                "definitions": {
                    "shared_handler": {
                        "type": "DefaultErrorHandler",
                        "backoff_strategies": [{"$ref": "#/definitions/shared_wait"}],
                    },
                }
            }
        )
    )
    (folder / "wait.yaml").write_text(
        yaml.safe_dump(
            {
                "definitions": {
                    "shared_wait": {
                        "type": "WaitTimeFromHeader",
                        "header": "Retry-After",
                        "note": "#/definitions/messages/wait",
                    },
                }
            }
        )
    )
    (folder / "unused.yaml").write_text(yaml.safe_dump({"definitions": {"shared_other": {"a": 1}}}))
    return folder


def test_a_manifest_without_shared_references_is_handed_on_unchanged(shared: Path) -> None:
    manifest = {"definitions": {"requester": {"path": "/x"}}, "streams": ["#/definitions/requester"]}
    assert with_shared_definitions(manifest, "m.yaml", shared) is manifest


def test_referenced_fragments_are_inlined_with_what_they_reference_in_turn(shared: Path) -> None:
    manifest = {
        "definitions": {"messages": {"wait": "slow down"}},
        "requester": {"error_handler": {"$ref": "#/definitions/shared_handler"}},
    }
    before = copy.deepcopy(manifest)
    merged = with_shared_definitions(manifest, "m.yaml", shared)
    assert set(merged["definitions"]) == {"messages", "shared_handler", "shared_wait"}
    assert manifest == before  # the caller's dict is not changed


def test_a_manifest_may_not_keep_its_own_copy_of_a_shared_name(shared: Path, tmp_path: Path) -> None:
    path = tmp_path / "manifest.yaml"
    path.write_text("version: 7.0.0\ndefinitions:\n  requester: {}\n  shared_wait:\n    type: X\n")
    with pytest.raises(
        ConfigError,
        match=r"manifest.yaml:4 \(key `definitions.shared_wait`\): "
        r"the manifest defines `shared_wait`",
    ):
        load_manifest(path, shared)


def test_a_value_the_shared_piece_reads_from_the_manifest_must_be_there(shared: Path) -> None:
    manifest = {"requester": {"error_handler": {"$ref": "#/definitions/shared_handler"}}}
    with pytest.raises(
        ConfigError,
        match=r"reads `#/definitions/messages/wait`; define "
        r"`definitions.messages.wait`",
    ):
        with_shared_definitions(manifest, "m.yaml", shared)


def test_the_real_error_handler_asks_for_the_connectors_messages(tmp_path: Path) -> None:
    path = tmp_path / "manifest.yaml"
    path.write_text('requester:\n  error_handler:\n    $ref: "#/definitions/shared_error_handler"\n')
    with pytest.raises(
        ConfigError,
        match=r"error_handler.yaml, which reads "
        r"`#/definitions/error_messages/\w+`",
    ):
        load_manifest(path)


def test_a_manifest_that_is_not_yaml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "manifest.yaml"
    path.write_text("streams: [\n")
    with pytest.raises(ConfigError, match=r"manifest.yaml: cannot load the connector manifest"):
        load_manifest(path)
