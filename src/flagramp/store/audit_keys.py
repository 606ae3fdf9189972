"""The audit key: kept outside the database, so that writing the database is not
enough to rewrite its history.

Where the key comes from, first match wins:

1. `FLAGRAMP_AUDIT_KEY`: one or more keys as hex (at least 32 bytes each, e.g.
   `openssl rand -hex 32`), separated by white space or commas; the last one signs
   new rows, the others verify old ones. Replicas share a key this way.
2. `FLAGRAMP_AUDIT_KEY_FILE`: a key file at that path.
3. A key file next to a SQLite database (`flagramp.db.audit-key`), or for other
   databases `$XDG_CONFIG_HOME/flagramp/audit-key` (`~/.config/…`).

A key file holds one hex key per line (`#` comments allowed), the last one signing.
It is created on the first write with a fresh random key, mode 0600; `rotate`
appends a new key and keeps the old ones for verifying. A key's id is the first 16
hex digits of its SHA-256: every audit row names the id of the key that signed it.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path

from sqlalchemy.engine import make_url

from flagramp.core.errors import AuditKeyError

KEY_ENV = "FLAGRAMP_AUDIT_KEY"
KEY_FILE_ENV = "FLAGRAMP_AUDIT_KEY_FILE"
KEY_BYTES = 32
_HEX_KEY = re.compile(r"[0-9a-fA-F]{64,}")
_SEPARATORS = re.compile(r"[\s,]+")
_FILE_HEADER = (
    "# flagramp audit keys, one per line: the last one signs new audit rows,\n"
    "# the ones above it verify older rows. Keep every line; back this file up\n"
    "# apart from the database.\n"
)


def key_id(key: bytes) -> str:
    """The id every audit row records for the key that signed it."""
    return hashlib.sha256(key).hexdigest()[:16]


class AuditKeyring:
    """The keys that verify audit rows, and the one that signs new ones.

    A keyring on a key file reads the file when asked for the signing key (so a
    rotation by another process is seen) and creates it on first use.
    """

    def __init__(
        self, keys: Mapping[str, bytes], source: str, path: Path | None = None
    ) -> None:
        self._keys = dict(keys)
        self._signing = next(reversed(self._keys)) if self._keys else None
        self.source = source
        self.path = path

    @classmethod
    def generate(cls) -> AuditKeyring:
        """A keyring with one fresh key held in memory only (tests, the memory
        store)."""
        key = secrets.token_bytes(KEY_BYTES)
        return cls({key_id(key): key}, "memory")

    @classmethod
    def from_text(cls, text: str, source: str) -> AuditKeyring:
        """Keys as hex, separated by white space, commas or lines; `#` comments."""
        lines = (line.split("#", 1)[0] for line in text.splitlines())
        words = [w for line in lines for w in _SEPARATORS.split(line) if w]
        keys: dict[str, bytes] = {}
        for number, word in enumerate(words, start=1):
            if _HEX_KEY.fullmatch(word) is None or len(word) % 2:
                raise AuditKeyError(
                    source,
                    f"key {number} is not hex of at least {KEY_BYTES} bytes "
                    "(make one with `openssl rand -hex 32`)",
                )
            key = bytes.fromhex(word)
            keys.pop(key_id(key), None)  # a repeated key moves to its last place
            keys[key_id(key)] = key
        return cls(keys, source)

    @classmethod
    def configured(cls, database_url: str) -> AuditKeyring:
        """The keyring configured for the database at `database_url` (see the
        module docstring); a key file that does not exist yet is not created."""
        text = os.environ.get(KEY_ENV)
        if text:
            keyring = cls.from_text(text, KEY_ENV)
            if not keyring.key_ids():
                raise AuditKeyError(KEY_ENV, "is set but holds no key")
            return keyring
        return cls.from_file(key_file_for(database_url))

    @classmethod
    def from_file(cls, path: Path) -> AuditKeyring:
        """The keys in a key file; an empty keyring if the file does not exist."""
        try:
            text = path.read_text(encoding="ascii")
        except FileNotFoundError:
            return cls({}, str(path), path)
        except (OSError, UnicodeDecodeError) as exc:
            raise AuditKeyError(str(path), f"cannot be read ({exc})") from exc
        keyring = cls.from_text(text, str(path))
        keyring.path = path
        return keyring

    def key_ids(self) -> tuple[str, ...]:
        """Ids of the keys held, oldest first; the last one signs."""
        return tuple(self._keys)

    def key(self, wanted: str) -> bytes | None:
        """The key with id `wanted`, or None if this keyring lacks it."""
        return self._keys.get(wanted)

    def signing_key(self) -> tuple[str, bytes]:
        """The id and key that sign new rows; creates the key file on first use."""
        if self.path is not None:
            fresh = AuditKeyring.from_file(self.path)
            if not fresh.key_ids():
                _create_key_file(self.path)
                fresh = AuditKeyring.from_file(self.path)
            self._keys, self._signing = fresh._keys, fresh._signing
        if self._signing is None:
            raise AuditKeyError(self.source, "holds no key to sign with")
        return self._signing, self._keys[self._signing]

    def rotate(self) -> str:
        """Add a new signing key (old ones stay for verifying); returns its id."""
        if self.path is None:
            raise AuditKeyError(
                self.source,
                "is not a key file: add the new key at the end of "
                f"{KEY_ENV} and keep the old ones",
            )
        current = AuditKeyring.from_file(self.path)
        key = secrets.token_bytes(KEY_BYTES)
        lines = [k.hex() for k in current._keys.values()] + [key.hex()]
        _write_private(self.path, _FILE_HEADER + "\n".join(lines) + "\n", replace=True)
        self._keys, self._signing = {**current._keys, key_id(key): key}, key_id(key)
        return key_id(key)


def key_file_for(database_url: str) -> Path:
    """Where the key file of the database at `database_url` is."""
    explicit = os.environ.get(KEY_FILE_ENV)
    if explicit:
        return Path(explicit).expanduser()
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (
        None,
        "",
        ":memory:",
    ):
        return Path(f"{url.database}.audit-key")
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "flagramp" / "audit-key"


def _create_key_file(path: Path) -> None:
    key = secrets.token_bytes(KEY_BYTES)
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        _write_private(path, _FILE_HEADER + key.hex() + "\n", replace=False)
    except FileExistsError:
        pass  # another process created it first: use theirs


def _write_private(path: Path, text: str, *, replace: bool) -> None:
    """Write `text` readable by the owner only, never half-written: a temporary
    file is filled first, then swapped in (`replace`) or linked into place, which
    fails with FileExistsError if the file appeared meanwhile."""
    temporary = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        if replace:
            os.replace(temporary, path)
        else:
            os.link(temporary, path)
    except FileExistsError:
        raise
    except OSError as exc:
        raise AuditKeyError(str(path), f"cannot be written ({exc})") from exc
    finally:
        temporary.unlink(missing_ok=True)
