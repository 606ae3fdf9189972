"""Where the audit key comes from, how it is made, rotated and refused."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from flagramp.core.errors import AuditKeyError
from flagramp.store.audit_keys import (
    KEY_ENV,
    KEY_FILE_ENV,
    AuditKeyring,
    key_file_for,
    key_id,
)

KEY_A = "a" * 64
KEY_B = "0123456789abcdef" * 4


def test_a_key_id_is_the_start_of_its_sha256() -> None:
    # `printf %64s | tr " " a | xxd -r -p | sha256sum`, first 16 hex digits.
    assert key_id(bytes.fromhex(KEY_A)) == "e0e77a507412b120"


def test_the_environment_holds_keys_the_last_one_signing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(KEY_ENV, f"{KEY_A},\n {KEY_B}")
    keyring = AuditKeyring.configured("postgresql+psycopg://db/x")
    assert keyring.key_ids() == (
        key_id(bytes.fromhex(KEY_A)),
        key_id(bytes.fromhex(KEY_B)),
    )
    assert keyring.signing_key() == (key_id(bytes.fromhex(KEY_B)), bytes.fromhex(KEY_B))
    with pytest.raises(
        AuditKeyError, match="add the new key at the end of FLAGRAMP_AUDIT_KEY"
    ):
        keyring.rotate()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("abc", "key 1 is not hex of at least 32 bytes"),
        (KEY_A + " " + "z" * 64, "key 2 is not hex"),
        ("a" * 65, "key 1 is not hex"),
        ("  ,  ", "holds no key"),
    ],
)
def test_a_bad_key_in_the_environment_is_refused(
    monkeypatch: pytest.MonkeyPatch, text: str, message: str
) -> None:
    monkeypatch.setenv(KEY_ENV, text)
    with pytest.raises(AuditKeyError, match=message):
        AuditKeyring.configured("sqlite:///x.db")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///data/flagramp.db", "data/flagramp.db.audit-key"),
        ("sqlite:////srv/flags.db", "/srv/flags.db.audit-key"),
        ("sqlite://", "{config}/flagramp/audit-key"),
        ("postgresql+psycopg://u@db/flags", "{config}/flagramp/audit-key"),
        ("mysql+pymysql://root@db/flags", "{config}/flagramp/audit-key"),
    ],
)
def test_where_the_key_file_is(
    url: str, expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert key_file_for(url) == Path(expected.format(config=tmp_path))
    monkeypatch.setenv(KEY_FILE_ENV, "~/keys/flagramp")
    assert key_file_for(url) == Path("~/keys/flagramp").expanduser()


def test_a_key_file_is_made_once_even_by_racing_writers(tmp_path: Path) -> None:
    path = tmp_path / "config" / "flagramp" / "audit-key"
    keyrings = [AuditKeyring.from_file(path) for _ in range(8)]
    assert keyrings[0].key_ids() == ()
    signed: list[str] = []
    threads = [
        threading.Thread(target=lambda k=k: signed.append(k.signing_key()[0]))
        for k in keyrings
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(signed)) == 1 and len(signed) == 8
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert [p.name for p in path.parent.iterdir()] == ["audit-key"]  # no temporaries


def test_rotation_appends_and_keeps_old_keys(tmp_path: Path) -> None:
    path = tmp_path / "audit-key"
    keyring = AuditKeyring.from_file(path)
    first, _ = keyring.signing_key()
    second = keyring.rotate()
    assert keyring.key_ids() == (first, second)
    assert AuditKeyring.from_file(path).key_ids() == (first, second)
    assert path.read_text().startswith("# flagramp audit keys")
    assert path.stat().st_mode & 0o777 == 0o600
    # Another process's keyring sees the rotation when it next signs.
    assert AuditKeyring.from_file(path).signing_key()[0] == second


def test_an_unreadable_key_file_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "audit-key"
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(AuditKeyError, match=f"audit key {path}: cannot be read"):
        AuditKeyring.from_file(path)
    path.write_text("# comment only\n")
    assert AuditKeyring.from_file(path).key_ids() == ()
