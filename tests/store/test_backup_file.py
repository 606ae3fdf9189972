"""A backup file that is not whole is refused with one sentence, before anything
is written: cut short, a changed byte, an edited manifest, not a backup at all."""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flagramp.core.errors import BackupDamaged, BackupError
from flagramp.core.flags import Flag
from flagramp.store import SqlFlagStore
from flagramp.store.backup_codec import TableSpec
from flagramp.store.backup_file import MANIFEST, BackupReader, BackupWriter
from flagramp.store.backups import create_backup, list_backups, restore_backup
from flagramp.store.schema import flagramp_tables
from tests.store.backup_fill import ALICE, TEXT

NOW = dt.datetime(2026, 11, 30, 22, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def backup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("backup")
    store = SqlFlagStore.open(f"sqlite:///{folder / 'source.db'}")
    store.create_flag(Flag("vaos", description=TEXT), ALICE)
    store.create_flag(Flag("sm", actors=("a@va.gov",)), ALICE, "qa")
    ref = create_backup(store, label="nightly", author=ALICE, directory=folder)
    store.engine.dispose()
    assert ref.path is not None
    yield ref.path


@pytest.fixture
def target(tmp_path: Path) -> Iterator[SqlFlagStore]:
    store = SqlFlagStore.open(f"sqlite:///{tmp_path / 'target.db'}")
    yield store
    store.engine.dispose()


def _rows(path: Path) -> dict[str, list[tuple[object, ...]]]:
    with BackupReader(path) as reader:
        reader.check()
        return {
            e.spec.name: list(reader.rows(e.spec.name)) for e in reader.manifest.tables
        }


def _rewrite(source: Path, out: Path, **members: bytes) -> None:
    """A copy of the zip with some members replaced."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(out, "w") as new:
        for info in old.infolist():
            new.writestr(info, members.get(info.filename, old.read(info)))


@pytest.mark.parametrize("keep", [0.0, 0.001, 0.1, 0.5, 0.9, 0.999, 1.0])
def test_a_file_cut_short_is_refused_and_nothing_is_written(
    backup: Path, target: SqlFlagStore, tmp_path: Path, keep: float
) -> None:
    data = backup.read_bytes()
    cut = tmp_path / "cut.zip"
    cut.write_bytes(data[: min(int(len(data) * keep), len(data) - 1)])
    with pytest.raises(BackupDamaged) as refused:
        restore_backup(target, cut, author=ALICE)
    assert str(refused.value).startswith(f"{cut} is not a whole flagramp backup: ")
    assert "\n" not in str(refused.value)
    assert (target.version(), target.audit_entries()) == (0, [])


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda m: m.update(label="edited"), "its manifest's checksum does not match"),
        (lambda m: m.update(format="tarball"), "it has no flagramp backup manifest"),
        (lambda m: m.update(format_version=2), "it is format 2; this flagramp reads"),
        (lambda m: m.pop("audit"), "its manifest field 'audit' is missing"),
        (lambda m: m.update(store_version=True), "field 'store_version' is missing or"),
        (
            lambda m: m["tables"][0]["columns"][0].__setitem__(1, ["integer"]),
            # The first table in the manifest, whichever that is (name order).
            r"table [a-z_]+: a column entry is malformed",
        ),
    ],
)
def test_an_edited_manifest_is_refused(
    backup: Path, tmp_path: Path, edit: object, message: str
) -> None:
    with zipfile.ZipFile(backup) as archive:
        manifest = json.loads(archive.read(MANIFEST))
    assert callable(edit)
    edit(manifest)
    edited = tmp_path / "edited.zip"
    _rewrite(backup, edited, **{MANIFEST: json.dumps(manifest).encode()})
    with pytest.raises(BackupDamaged, match=message):
        BackupReader(edited)


def test_changed_rows_are_refused_by_the_tables_digest(
    backup: Path, tmp_path: Path
) -> None:
    with zipfile.ZipFile(backup) as archive:
        rows = archive.read("tables/flags.jsonl")
    edited = tmp_path / "edited.zip"
    _rewrite(backup, edited, **{"tables/flags.jsonl": rows.replace(b"vaos", b"vaOS")})
    with BackupReader(edited) as reader, pytest.raises(BackupDamaged) as refused:
        reader.check()
    assert refused.value.detail == "table flags: its rows were changed"


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(position=st.floats(0, 1, exclude_max=True), bit=st.integers(0, 7))
def test_a_flipped_bit_anywhere_is_refused_or_changes_nothing(
    backup: Path, tmp_path: Path, position: float, bit: int
) -> None:
    # Some bytes of a zip are not covered by any check (a member's time, padding):
    # flipping one of those must leave every row as it was.
    data = bytearray(backup.read_bytes())
    data[int(position * len(data))] ^= 1 << bit
    flipped = tmp_path / "flipped.zip"
    flipped.write_bytes(bytes(data))
    try:
        read = _rows(flipped)
    except BackupDamaged as refused:
        assert "\n" not in str(refused)
        return
    assert read == _rows(backup)


def test_a_zip_from_a_newer_zip_version_is_refused_as_damaged(
    backup: Path, tmp_path: Path
) -> None:
    # A flipped bit in a central directory entry's "version needed" makes
    # zipfile raise NotImplementedError; that too is one sentence.
    data = bytearray(backup.read_bytes())
    entry = data.index(b"PK\x01\x02")
    data[entry + 6 : entry + 8] = (109).to_bytes(2, "little")  # version 10.9
    odd = tmp_path / "odd.zip"
    odd.write_bytes(bytes(data))
    with pytest.raises(BackupDamaged, match="cut short, or not a zip file"):
        BackupReader(odd)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "it is cut short, or not a zip file at all"),
        (b"flags,segments\nvaos,1\n", "it is cut short, or not a zip file at all"),
    ],
)
def test_a_file_that_is_no_backup_is_refused(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "notes.zip"
    path.write_bytes(content)
    with pytest.raises(BackupDamaged, match=message):
        BackupReader(path)
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(BackupDamaged, match="it has no manifest"):
        BackupReader(other)


def test_a_missing_file_or_a_directory_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="no such file"):
        BackupReader(tmp_path / "absent.zip")
    with pytest.raises(BackupError, match="is a directory"):
        BackupReader(tmp_path)


def test_a_failed_backup_leaves_no_file(tmp_path: Path) -> None:
    out = tmp_path / "out.zip"
    spec = TableSpec.of(flagramp_tables()[0])
    with pytest.raises(RuntimeError), BackupWriter(out, NOW) as writer:
        writer.add_table(spec, [])
        raise RuntimeError("the database went away")
    assert list(tmp_path.iterdir()) == []


def test_an_existing_file_is_never_replaced(backup: Path, tmp_path: Path) -> None:
    out = tmp_path / "taken.zip"
    out.write_bytes(b"keep me")
    store = SqlFlagStore.open(f"sqlite:///{tmp_path / 'db.db'}")
    with pytest.raises(BackupError, match="exists; name another file"):
        create_backup(store, label="x", author=ALICE, out=out)
    store.engine.dispose()
    assert out.read_bytes() == b"keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["db.db", "taken.zip"]


def test_list_names_backups_oldest_first_and_says_which_are_damaged(
    backup: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()
    (folder / "b.zip").write_bytes(backup.read_bytes())
    (folder / "a.zip").write_bytes(backup.read_bytes()[:-10])
    (folder / "notes.txt").write_text("not listed")
    listed = list_backups(folder)
    assert [(f.path.name, f.problem) for f in listed] == [
        ("a.zip", "it is cut short, or not a zip file at all"),
        ("b.zip", None),
    ]
    assert listed[1].ref is not None and listed[1].ref.label == "nightly"
    assert list_backups(tmp_path / "absent") == []
