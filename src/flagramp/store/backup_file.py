"""The backup file: a zip of one JSON-lines member per table and a manifest.

    manifest.json          what the backup is (below), with a checksum over it all
    tables/<name>.jsonl    one JSON array per row, in the table's column order

The manifest names the flagramp version and schema revision that wrote it, the
store version, the audit head, row count and key ids, every table with its
columns (name, kind, nullable), row count and the SHA-256 of its member, and a
SHA-256 over all of that (so over every row). A file cut short has no zip
directory; a changed byte changes a digest: either is refused before anything is
read into a database. The digests catch damage, not malice: someone who edits
rows can recompute them, which is what the keyed audit chain is for.

Written to a temporary file beside the target and linked into place when whole,
so a backup that failed leaves no file, and an existing file is never replaced.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import lzma
import os
import secrets
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from flagramp.core.errors import BackupDamaged, BackupError
from flagramp.store.backup_codec import TableSpec, decode_row, encode_row

FORMAT = "flagramp-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
#: A manifest past this is not one flagramp wrote (it lists tables, not rows).
MAX_MANIFEST_BYTES = 16 * 1024 * 1024
#: What zipfile raises for an archive whose bytes were damaged: besides
#: BadZipFile, a flipped bit can ask for an unknown zip version or compression
#: (NotImplementedError), say the member is encrypted (RuntimeError), or feed a
#: decompressor garbage (zlib.error, lzma.LZMAError, OSError from bz2).
_DAMAGE = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    lzma.LZMAError,
    EOFError,
    OSError,
    ValueError,
    NotImplementedError,
    RuntimeError,
)


@dataclass(frozen=True, slots=True)
class TableEntry:
    """One table in a backup: its columns, row count and member digest."""

    spec: TableSpec
    rows: int
    sha256: str


@dataclass(frozen=True, slots=True)
class Manifest:
    """What a backup holds and where it came from."""

    id: str
    label: str
    author: str
    created_at: str
    flagramp_version: str
    source: str
    schema_revision: str
    store_version: int
    audit_head: str
    audit_rows: int
    key_ids: tuple[str, ...]
    #: What `audit verify` said was wrong when the backup was made ([] if ok).
    problems: tuple[str, ...]
    tables: tuple[TableEntry, ...]

    def table(self, name: str) -> TableEntry | None:
        """The entry of table `name`, if the backup holds it."""
        return next((t for t in self.tables if t.spec.name == name), None)

    @property
    def rows(self) -> int:
        """Rows in every table together."""
        return sum(t.rows for t in self.tables)

    def body(self) -> dict[str, Any]:
        """The manifest as JSON, without its checksum."""
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "id": self.id,
            "label": self.label,
            "author": self.author,
            "created_at": self.created_at,
            "flagramp_version": self.flagramp_version,
            "source": self.source,
            "schema_revision": self.schema_revision,
            "store_version": self.store_version,
            "audit": {
                "head": self.audit_head,
                "rows": self.audit_rows,
                "key_ids": list(self.key_ids),
                "problems": list(self.problems),
            },
            "tables": [
                {
                    "name": t.spec.name,
                    "columns": t.spec.to_json(),
                    "rows": t.rows,
                    "sha256": t.sha256,
                }
                for t in self.tables
            ],
        }

    def checksum(self) -> str:
        """SHA-256 over the body's canonical JSON."""
        text = json.dumps(self.body(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    @classmethod
    def from_json(cls, data: object) -> Manifest:
        """Read a manifest; raises ValueError saying what is wrong."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError("it has no flagramp backup manifest")
        if data.get("format_version") != FORMAT_VERSION:
            raise ValueError(
                f"it is format {data.get('format_version')!r}; this flagramp reads "
                f"format {FORMAT_VERSION} (restore it with a newer flagramp)"
            )
        audit = _field(data, "audit", dict)
        tables = []
        for entry in _field(data, "tables", list):
            if not isinstance(entry, dict):
                raise ValueError("a table entry is malformed")
            name = _field(entry, "name", str)
            tables.append(
                TableEntry(
                    TableSpec.from_json(name, entry.get("columns")),
                    _field(entry, "rows", int),
                    _field(entry, "sha256", str),
                )
            )
        manifest = cls(
            id=_field(data, "id", str),
            label=_field(data, "label", str),
            author=_field(data, "author", str),
            created_at=_field(data, "created_at", str),
            flagramp_version=_field(data, "flagramp_version", str),
            source=_field(data, "source", str),
            schema_revision=_field(data, "schema_revision", str),
            store_version=_field(data, "store_version", int),
            audit_head=_field(audit, "head", str),
            audit_rows=_field(audit, "rows", int),
            key_ids=tuple(_strings(audit, "key_ids")),
            problems=tuple(_strings(audit, "problems")),
            tables=tuple(tables),
        )
        if data.get("checksum") != manifest.checksum():
            raise ValueError("its manifest's checksum does not match (it was changed)")
        return manifest


class BackupWriter:
    """Writes a backup file: `add_table` for each table, then `finish`.

    Used as a context manager: leaving it with an exception removes everything
    written so far.
    """

    def __init__(self, path: Path, created_at: dt.datetime) -> None:
        self.path = path
        utc = created_at.astimezone(dt.UTC)
        # Zip times start in 1980; a virtual clock may be earlier.
        self._stamp = max(
            (utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second),
            (1980, 1, 1, 0, 0, 0),
        )
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._temporary = path.with_name(
                f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.partial"
            )
            fd = os.open(self._temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as exc:
            raise BackupError(f"cannot write {path}: {exc.strerror or exc}") from exc
        self._file: IO[bytes] = os.fdopen(fd, "wb")
        self._zip = zipfile.ZipFile(self._file, "w", zipfile.ZIP_DEFLATED)

    def __enter__(self) -> BackupWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if kind is not None:
            self.abort()

    def add_table(
        self, spec: TableSpec, rows: Iterable[Sequence[object]]
    ) -> TableEntry:
        """Write every row of one table; returns its manifest entry."""
        digest = hashlib.sha256()
        count = 0
        member = zipfile.ZipInfo(f"tables/{spec.name}.jsonl", self._stamp)
        member.compress_type = zipfile.ZIP_DEFLATED
        with self._zip.open(member, "w", force_zip64=True) as out:
            for row in rows:
                line = encode_row(spec, row)
                digest.update(line)
                out.write(line)
                count += 1
        return TableEntry(spec, count, digest.hexdigest())

    def finish(self, manifest: Manifest) -> None:
        """Write the manifest and put the whole file in place."""
        document = {**manifest.body(), "checksum": manifest.checksum()}
        member = zipfile.ZipInfo(MANIFEST, self._stamp)
        member.compress_type = zipfile.ZIP_DEFLATED
        self._zip.writestr(member, json.dumps(document, indent=1, ensure_ascii=False))
        self._zip.close()
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        try:
            os.link(self._temporary, self.path)
        except FileExistsError as exc:
            raise BackupError(f"{self.path} exists; name another file") from exc
        except OSError as exc:
            raise BackupError(f"cannot write {self.path}: {exc.strerror}") from exc
        finally:
            self._temporary.unlink(missing_ok=True)

    def abort(self) -> None:
        """Drop what was written."""
        with contextlib.suppress(*_DAMAGE):  # a half-written archive goes anyway
            self._zip.close()
        self._file.close()
        self._temporary.unlink(missing_ok=True)


class BackupReader:
    """Reads a backup file: the manifest on opening, rows on demand."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.source = str(path)
        # A FIFO (or a device) would block the open until a writer came: a
        # listing of the backup directory would hang on one named `*.zip`.
        if path.exists() and not path.is_file() and not path.is_dir():
            raise BackupError(f"{path} is not a regular file")
        try:
            self._zip = zipfile.ZipFile(path)
        except FileNotFoundError as exc:
            raise BackupError(f"{path}: no such file") from exc
        except IsADirectoryError as exc:
            raise BackupError(f"{path} is a directory") from exc
        except _DAMAGE as exc:
            # zipfile raises OSError subclasses for a damaged archive too; a
            # genuine read error has an errno.
            if isinstance(exc, OSError) and exc.errno is not None:
                raise BackupError(f"cannot read {path}: {exc.strerror}") from exc
            raise self._damaged("it is cut short, or not a zip file at all") from exc
        try:
            self.manifest = self._read_manifest()
        except BaseException:
            self._zip.close()
            raise

    def __enter__(self) -> BackupReader:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the file."""
        self._zip.close()

    def check(self) -> None:
        """Read every row once: each table's digest, row count and values must be
        what the manifest says; raises BackupDamaged naming the table."""
        for entry in self.manifest.tables:
            digest = hashlib.sha256()
            count = 0
            for line in self._lines(entry.spec.name):
                digest.update(line)
                count += 1
            if digest.hexdigest() != entry.sha256:
                raise self._damaged(f"table {entry.spec.name}: its rows were changed")
            if count != entry.rows:
                raise self._damaged(
                    f"table {entry.spec.name}: {count} rows, not {entry.rows}"
                )
            for _row in self.rows(entry.spec.name):
                pass

    def rows(self, table: str) -> Iterator[tuple[object, ...]]:
        """The decoded rows of `table`, in the order they were written."""
        entry = self.manifest.table(table)
        if entry is None:
            raise self._damaged(f"it holds no table {table}")
        for number, line in enumerate(self._lines(table), start=1):
            try:
                yield decode_row(entry.spec, line)
            except ValueError as exc:
                raise self._damaged(f"table {table}, row {number}: {exc}") from exc

    def _lines(self, table: str) -> Iterator[bytes]:
        try:
            with self._zip.open(f"tables/{table}.jsonl") as member:
                yield from member
        except KeyError as exc:
            raise self._damaged(f"table {table} is missing from it") from exc
        except _DAMAGE as exc:
            raise self._damaged(f"table {table} cannot be read ({exc})") from exc

    def _read_manifest(self) -> Manifest:
        try:
            info = self._zip.getinfo(MANIFEST)
        except KeyError as exc:
            raise self._damaged("it has no manifest") from exc
        if info.file_size > MAX_MANIFEST_BYTES:
            raise self._damaged("its manifest is too large to be one")
        try:
            data = json.loads(self._zip.read(info))
        except _DAMAGE as exc:
            raise self._damaged("its manifest cannot be read") from exc
        try:
            manifest = Manifest.from_json(data)
        except (ValueError, TypeError) as exc:
            raise self._damaged(str(exc)) from exc
        names = set(self._zip.namelist())
        for entry in manifest.tables:
            if f"tables/{entry.spec.name}.jsonl" not in names:
                raise self._damaged(f"table {entry.spec.name} is missing from it")
        return manifest

    def _damaged(self, detail: str) -> BackupDamaged:
        return BackupDamaged(self.source, detail)


def _field(data: dict[str, Any], name: str, kind: type[Any]) -> Any:
    value = data.get(name)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ValueError(f"its manifest field {name!r} is missing or malformed")
    return value


def _strings(data: dict[str, Any], name: str) -> list[str]:
    values: list[object] = _field(data, name, list)
    strings = [v for v in values if isinstance(v, str)]
    if len(strings) != len(values):
        raise ValueError(f"its manifest field {name!r} is malformed")
    return strings
