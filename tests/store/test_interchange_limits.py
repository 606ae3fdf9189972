"""Imports read within their size limit from any kind of file, and refuse
documents nested past what they can hold, with ImportInvalid and nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flagramp.core.errors import ImportInvalid
from flagramp.core.flags.expressions import MAX_DEPTH
from flagramp.store import Author, FlagStore, import_features_yml, import_flipper
from flagramp.store.interchange import (
    MAX_IMPORT_BYTES,
    MAX_YAML_DEPTH,
    read_import_file,
)
from tests.streams import endless_fifo

ALICE = Author("alice@va.gov", "move from Flipper")


@pytest.fixture
def store(tmp_path: Path) -> FlagStore:
    return FlagStore.open(f"sqlite:///{tmp_path / 'limits.db'}")


def test_a_device_without_a_size_is_read_only_to_the_limit() -> None:
    with pytest.raises(ImportInvalid, match="more than 50 MiB, over the limit"):
        read_import_file(Path("/dev/zero"))


def test_a_fifo_is_read_only_to_the_limit(tmp_path: Path) -> None:
    with (
        endless_fifo(tmp_path / "feed") as fifo,
        pytest.raises(ImportInvalid, match="more than 50 MiB"),
    ):
        read_import_file(fifo)


def test_a_fifo_under_the_limit_is_read_whole(tmp_path: Path) -> None:
    with endless_fifo(tmp_path / "feed", limit=3 * 65_536) as fifo:
        assert read_import_file(fifo) == "\0" * 3 * 65_536


def test_a_large_regular_file_is_refused_by_its_size(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    with path.open("wb") as handle:
        handle.truncate(MAX_IMPORT_BYTES + 1)
    with pytest.raises(ImportInvalid, match=f"{MAX_IMPORT_BYTES + 1} bytes is over"):
        read_import_file(path)


def test_an_unreadable_path_is_import_invalid(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(ImportInvalid, match="cannot read: Not a directory"):
        read_import_file(tmp_path / "file" / "x")


def _expression(depth: int) -> str:
    return '{"All": [' * depth + "true" + "]}" * depth


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[" * 100_000 + "]" * 100_000, "import: nested too deeply to read"),
        (
            '{"features": {"k": {"expression": ' + _expression(5_000) + "}}}",
            "import: nested too deeply to read",
        ),
        (
            '{"features": {"k": {"expression": ' + _expression(MAX_DEPTH + 1) + "}}}",
            f"k: invalid expression: functions are nested more than {MAX_DEPTH} deep",
        ),
        (
            '{"features": {"k": {"actors": [' + "[" * 500 + "]" * 500 + "]}}}",
            "k: actors must be an array of strings",
        ),
    ],
    ids=["arrays", "past-the-decoder", "past-the-limit", "actors"],
)
def test_deep_flipper_documents_are_refused_and_write_nothing(
    store: FlagStore, text: str, message: str
) -> None:
    with pytest.raises(ImportInvalid) as caught:
        import_flipper(store, text, ALICE)
    assert str(caught.value).startswith(message)
    assert (store.version(), store.list_flags()) == (0, [])


def test_an_expression_at_the_limit_imports(store: FlagStore) -> None:
    text = '{"features": {"k": {"expression": ' + _expression(MAX_DEPTH) + "}}}"
    assert import_flipper(store, text, ALICE) == 1
    assert json.dumps(store.require_flag("k").expression).count("All") == MAX_DEPTH


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("features:\n  a:\n    description: " + "[" * 5_000 + "]" * 5_000, "f.yml:3:"),
        (
            "features:\n  a:\n    description:\n"
            + "".join("  " * (i + 3) + "-\n" for i in range(MAX_YAML_DEPTH)),
            f"f.yml:{MAX_YAML_DEPTH + 1}:",
        ),
    ],
    ids=["flow", "block"],
)
def test_deep_features_yml_is_refused_and_writes_nothing(
    store: FlagStore, text: str, where: str
) -> None:
    with pytest.raises(ImportInvalid) as caught:
        import_features_yml(store, text, ALICE, source="f.yml")
    assert str(caught.value).startswith(where)
    assert str(caught.value).endswith(f"nested more than {MAX_YAML_DEPTH} levels deep")
    assert (store.version(), store.list_flags()) == (0, [])
