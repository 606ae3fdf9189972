"""A flag's bucket key (shared users) in flagramp's own store: stored, audited,
replayed by `audit verify`, kept by backups and environment snapshots, left out
of Flipper's export JSON (which cannot say it) and kept across its import."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
import sqlalchemy as sa

from flagramp.core.errors import InvalidIdentifier
from flagramp.core.flags import Flag, Percentage
from flagramp.core.flags import operations as ops
from flagramp.store import (
    AuditKeyring,
    Author,
    FlagStore,
    SqlFlagStore,
    export_json,
    import_flipper,
    restore_environment,
    snapshot_environment,
)
from flagramp.store.backups import create_backup, restore_backup
from flagramp.store.documents import canonical, flag_document, flag_from_document

ALICE = Author("alice@va.gov", "launch the two messaging flags together")
FIRST, SECOND = "mhv_curated_list_flow", "mhv_recent_recipients"
KEY = "5e" * 32
QUARTER = Percentage.parse("25")


@pytest.fixture
def sqlite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SqlFlagStore]:
    """A SQLite store signed with KEY, with SECOND sharing FIRST's users at 25 %."""
    monkeypatch.setenv("FLAGRAMP_AUDIT_KEY", KEY)
    store = SqlFlagStore.open(f"sqlite:///{tmp_path / 'flagramp.db'}")
    _launch_together(store)
    yield store
    store.engine.dispose()


def _launch_together(store: FlagStore) -> None:
    store.create_flag(Flag(FIRST), ALICE)
    store.create_flag(Flag(SECOND), ALICE)
    for key in (FIRST, SECOND):
        store.change_flag(
            key, partial(ops.set_percentage_of_actors, pct=QUARTER), ALICE
        )
    store.change_flag(
        SECOND,
        partial(ops.set_bucket_key, bucket_key=FIRST),
        ALICE,
        action="bucket_key",
    )


def test_every_backend_keeps_the_bucket_key_and_audits_it(store: FlagStore) -> None:
    _launch_together(store)
    assert store.require_flag(SECOND).bucket_key == FIRST
    assert store.require_flag(FIRST).bucket_key is None
    [last] = [e for e in store.audit_entries() if e.entity_key == SECOND][-1:]
    assert last.action == "bucket_key"
    assert last.before is not None and "bucket_key" not in last.before
    assert last.after is not None and json.loads(last.after)["bucket_key"] == FIRST
    assert store.verify_audit().ok
    store.change_flag(SECOND, partial(ops.set_bucket_key, bucket_key=None), ALICE)
    assert store.require_flag(SECOND).bucket_key is None
    assert store.verify_audit().ok


def test_a_bucket_key_must_be_a_valid_flag_key(store: FlagStore) -> None:
    store.create_flag(Flag(SECOND), ALICE)
    with pytest.raises(InvalidIdentifier):
        store.change_flag(SECOND, partial(ops.set_bucket_key, bucket_key=""), ALICE)
    assert store.require_flag(SECOND).bucket_key is None


def test_a_flag_without_one_keeps_the_document_it_had_before_the_field() -> None:
    # The audit log holds these texts: an old flag's must not change, or the
    # first write after an upgrade would not follow its history.
    plain = Flag(FIRST, percentage_of_actors=QUARTER)
    assert "bucket_key" not in flag_document(plain)
    shared = plain.with_changes(key=SECOND, bucket_key=FIRST)
    assert flag_from_document(json.loads(canonical(flag_document(shared)))) == shared


def test_verify_replays_the_bucket_key(sqlite: SqlFlagStore) -> None:
    assert sqlite.verify_audit().ok
    with sqlite.engine.begin() as conn:
        state = conn.execute(
            sa.text("SELECT state FROM flags WHERE key = :k"), {"k": SECOND}
        ).scalar_one()
        edited = state.replace(f'"bucket_key":"{FIRST}"', '"bucket_key":"other"')
        assert edited != state
        conn.execute(
            sa.text("UPDATE flags SET state = :s WHERE key = :k"),
            {"s": edited, "k": SECOND},
        )
    assert sqlite.require_flag(SECOND).bucket_key == "other"
    [problem] = sqlite.verify_audit().problems
    assert 'bucket_key is "other" in the store' in str(problem)


def test_flippers_export_leaves_it_out_and_its_import_keeps_it(
    sqlite: SqlFlagStore,
) -> None:
    exported = export_json(sqlite)
    assert "bucket_key" not in exported
    features = json.loads(exported)["features"]
    assert features[SECOND]["percentage_of_actors"] == "25"
    features[SECOND]["percentage_of_actors"] = "50"
    import_flipper(sqlite, json.dumps({"version": 1, "features": features}), ALICE)
    after = sqlite.require_flag(SECOND)
    assert (after.bucket_key, after.percentage_of_actors) == (
        FIRST,
        Percentage.parse("50"),
    )
    assert sqlite.verify_audit().ok


def test_a_backup_restores_the_bucket_key(sqlite: SqlFlagStore, tmp_path: Path) -> None:
    ref = create_backup(sqlite, label="before", author=ALICE, directory=tmp_path)
    assert ref.path is not None
    keyring = AuditKeyring.from_text(KEY, "test")
    target = SqlFlagStore.open(f"sqlite:///{tmp_path / 'target.db'}", keyring=keyring)
    try:
        restore_backup(target, ref.path, author=ALICE)
        assert target.require_flag(SECOND).bucket_key == FIRST
        assert target.list_flags() == sqlite.list_flags()
        assert target.verify_audit().ok
    finally:
        target.engine.dispose()


def test_an_environment_snapshot_written_back_restores_the_bucket_key(
    sqlite: SqlFlagStore,
) -> None:
    with sqlite.unit_of_work(ALICE) as unit:
        ref = snapshot_environment(
            unit, "production", "stage 1", now=sqlite.clock.now()
        )
    sqlite.change_flag(SECOND, partial(ops.set_bucket_key, bucket_key=None), ALICE)
    restore_environment(sqlite, ref, author=ALICE)
    assert sqlite.require_flag(SECOND).bucket_key == FIRST
    assert sqlite.verify_audit().ok
