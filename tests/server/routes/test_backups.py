"""`/api/v1/backups`: make, list, download and restore full backups over HTTP,
against the store functions `flagramp backup` calls."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from flagramp.core.flags import Flag
from flagramp.server.app import create_app
from flagramp.server.settings import ServerSettings
from flagramp.server.state import ServerState
from flagramp.store import read_backup
from flagramp.store.tokens import OwnerKind, Permission, TokenStore
from tests.server.conftest import SETUP, Api

BACKUP_ID = "20260101T000000Z-00000000"


def _state(api: Api) -> ServerState:
    state = api.app.state.flagramp
    assert isinstance(state, ServerState)
    return state


def _make(api: Api, label: str = "before the release") -> dict[str, object]:
    made = api.client.post(
        "/api/v1/backups", json={"label": label}, headers=api.headers("admin")
    )
    assert made.status_code == 201, made.text
    body: dict[str, object] = made.json()
    return body


def test_the_backup_directory_is_the_clis_unless_configured(
    api: Api, tmp_path: Path
) -> None:
    # The fixture's store is tmp_path/flagramp.db: the CLI's default is beside it.
    assert _state(api).backup_dir == tmp_path / "flagramp.db.backups"
    elsewhere = tmp_path / "kept"
    settings = ServerSettings.from_env({"FLAGRAMP_BACKUP_DIR": str(elsewhere)})
    assert settings.backup_dir == elsewhere
    app = create_app(settings, store=api.store, clock=api.clock)
    assert app.state.flagramp.backup_dir == elsewhere


def test_an_admin_makes_a_backup_operators_list_it_and_admins_download_it(
    api: Api,
) -> None:
    api.store.create_flag(Flag(key="checkout"), SETUP)
    made = _make(api)
    assert made["label"] == "before the release"
    assert made["author"] == "admin@example.org"
    assert made["file"] == f"flagramp-{made['id']}.zip"
    on_disk = _state(api).backup_dir / str(made["file"])
    assert read_backup(on_disk).id == made["id"]
    (_state(api).backup_dir / "junk.zip").write_bytes(b"not a zip")

    listed = api.client.get("/api/v1/backups", headers=api.headers("operator"))
    assert listed.status_code == 200, listed.text
    assert listed.json()["backups"] == [made]
    [junk] = listed.json()["unreadable"]
    assert junk["file"] == "junk.zip" and junk["problem"]
    one = api.client.get(
        f"/api/v1/backups/{made['id']}", headers=api.headers("operator")
    )
    assert one.json() == made

    refused = api.client.get(
        f"/api/v1/backups/{made['id']}/file", headers=api.headers("operator")
    )
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    file = api.client.get(
        f"/api/v1/backups/{made['id']}/file", headers=api.headers("admin")
    )
    assert file.status_code == 200
    assert file.headers["content-type"] == "application/zip"
    assert file.headers["cache-control"] == "no-store"
    assert f'filename="{made["file"]}"' in file.headers["content-disposition"]
    assert file.content == on_disk.read_bytes()
    assert zipfile.ZipFile(io.BytesIO(file.content)).testzip() is None


def test_only_a_backups_id_names_a_file(api: Api) -> None:
    for path, status, code in (
        (f"/api/v1/backups/{BACKUP_ID}", 404, "not_found"),
        (f"/api/v1/backups/{BACKUP_ID}/file", 404, "not_found"),
        ("/api/v1/backups/flagramp.db/file", 422, "invalid_request"),
        ("/api/v1/backups/..%2F..%2Fflagramp.db/file", 404, "not_found"),
    ):
        answer = api.client.get(path, headers=api.headers("admin"))
        assert (answer.status_code, answer.json()["code"]) == (status, code), path
        assert answer.headers["content-type"] == "application/problem+json"


def test_a_restore_is_refused_without_force_and_replaces_everything_with_it(
    api: Api,
) -> None:
    api.store.create_flag(Flag(key="kept"), SETUP)
    made = _make(api)
    api.store.create_flag(Flag(key="made_after"), SETUP)
    later = TokenStore(api.store).issue(
        owner="late@example.org",
        owner_kind=OwnerKind.PERSON,
        permission=Permission.VIEWER,
        author=SETUP,
    )
    late = {"authorization": f"Bearer {later.token}"}
    url = f"/api/v1/backups/{made['id']}/restore"

    refused = api.client.post(url, json={}, headers=api.headers("admin"))
    assert (refused.status_code, refused.json()["code"]) == (409, "target_not_empty")
    assert api.store.get_flag("made_after") is not None  # nothing was written
    operator = api.client.post(
        url, json={"force": True}, headers=api.headers("operator")
    )
    assert operator.status_code == 403

    done = api.client.post(
        url, json={"force": True, "why": "undo"}, headers=api.headers("admin")
    )
    assert done.status_code == 200, done.text
    report = done.json()
    assert report["backup"] == made
    assert report["replaced"]["audit_rows"] > 0
    assert report["audit"]["ok"] is True
    assert api.store.get_flag("kept") is not None
    assert api.store.get_flag("made_after") is None
    # Recorded as the CLI's restore is: one audit row after the backup's log.
    [row] = api.store.changes_since(report["version"] - 1)
    assert (row.kind, row.key, row.action) == ("backup", made["id"], "restore")
    assert (row.who, row.why) == ("admin@example.org", "undo")
    assert row.position == report["audit"]["rows"] + 1
    verified = api.client.post("/api/v1/audit/verify", headers=api.headers("operator"))
    assert verified.json()["ok"] is True
    # The tokens are the backup's: a server's store always holds the token
    # that asks, so over HTTP a restore always needs `force`.
    assert api.client.get("/api/v1/flags", headers=late).status_code == 401


def _damage_a_table(path: Path) -> None:
    """Flip a byte inside a table's data: the manifest still reads."""
    with zipfile.ZipFile(path) as archive:
        info = next(i for i in archive.infolist() if i.filename != "manifest.json")
    data = bytearray(path.read_bytes())
    name_length = int.from_bytes(
        data[info.header_offset + 26 : info.header_offset + 28], "little"
    )
    extra_length = int.from_bytes(
        data[info.header_offset + 28 : info.header_offset + 30], "little"
    )
    start = info.header_offset + 30 + name_length + extra_length
    data[start + info.compress_size // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def test_a_damaged_backup_is_a_problem_and_nothing_is_restored(api: Api) -> None:
    made = _make(api)
    api.store.create_flag(Flag(key="made_after"), SETUP)
    _damage_a_table(_state(api).backup_dir / str(made["file"]))
    answer = api.client.post(
        f"/api/v1/backups/{made['id']}/restore",
        json={"force": True},
        headers=api.headers("admin"),
    )
    assert (answer.status_code, answer.json()["code"]) == (422, "backup_damaged")
    assert api.store.get_flag("made_after") is not None
