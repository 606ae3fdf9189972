"""Environment snapshots (seed 004: a snapshot of the target before any change;
on No-Go its flags and segments written back as new audited changes): the
environment ends equal to the snapshot, the chain verifies and shows it."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import hypothesis.strategies as st
import pytest
import sqlalchemy as sa
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule

from flagramp.core.errors import BackupDamaged, SnapshotNotFound
from flagramp.core.flags import Flag, Percentage, Segment
from flagramp.core.flags import operations as ops
from flagramp.store import Author, SqlFlagStore
from flagramp.store.backup_refs import BackupRef
from flagramp.store.backups import (
    create_backup,
    environment_snapshots,
    restore_environment,
)
from tests.conftest import SQL_BACKENDS, migrated_database

ALICE = Author("alice@va.gov", "promote qa to pre-prod")
OPS = Author("ops@va.gov")
TARGET = "pre-prod"


@pytest.fixture(params=SQL_BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlFlagStore]:
    with migrated_database(request, tmp_path) as url:
        store = SqlFlagStore.open(url)
        oracle = Segment.from_rules("oracle", ["ehr == 'oracle'"])
        store.put_segment(oracle, ALICE, TARGET)
        store.create_flag(Flag("vaos", eligibility="oracle"), ALICE, TARGET)
        store.create_flag(Flag("sm_new_flow", boolean=True), ALICE, TARGET)
        store.create_flag(Flag("vaos"), ALICE, "production")
        yield store
        store.engine.dispose()


def _state(store: SqlFlagStore, environment: str) -> tuple[object, object]:
    return store.list_flags(environment), store.segments(environment)


def _promote_badly(store: SqlFlagStore) -> None:
    """What a promotion step might change before its No-Go."""
    cerner = Segment.from_rules("cerner", ["ehr == 'cerner'"])
    store.put_segment(cerner, ALICE, TARGET)
    store.put_segment(
        Segment.from_rules("oracle", ["ehr == 'oracle'", "age >= 65"]), ALICE, TARGET
    )
    store.change_flag(
        "vaos", lambda f: f.with_changes(eligibility="cerner"), ALICE, TARGET
    )
    store.change_flag(
        "vaos",
        partial(ops.set_percentage_of_actors, pct=Percentage.parse("25")),
        ALICE,
        TARGET,
    )
    store.delete_flag("sm_new_flow", ALICE, TARGET)
    store.create_flag(Flag("brand_new", actors=("a@va.gov",)), ALICE, TARGET)


def test_no_go_writes_the_snapshot_back_as_audited_changes(store: SqlFlagStore) -> None:
    snapshot = create_backup(
        store, label="before promotion", author=ALICE, environment=TARGET
    )
    taken = _state(store, TARGET)
    production = _state(store, "production")
    rows_before = len(store.audit_entries())
    _promote_badly(store)
    assert _state(store, TARGET) != taken
    restored = restore_environment(store, snapshot, author=OPS)
    assert _state(store, TARGET) == taken
    assert _state(store, "production") == production
    assert (restored.flags_changed, restored.segments_changed) == (3, 2)
    report = store.verify_audit()
    assert report.ok, report.problems
    rows = store.audit_entries()
    # The history in between is kept; the restore comes after it, one version.
    assert len(rows) == rows_before + 6 + 6
    written_back = rows[-6:]
    assert {r.store_version for r in written_back} == {written_back[0].store_version}
    assert {r.reason for r in written_back} == {
        f"restore of environment snapshot {snapshot.id}"
    }
    assert [(r.entity_kind, r.entity_key, r.action) for r in written_back] == [
        ("segment", "oracle", "update"),
        ("flag", "sm_new_flow", "create"),
        ("flag", "vaos", "restore"),
        ("flag", "brand_new", "delete"),
        ("segment", "cerner", "delete"),
        ("snapshot", snapshot.id, "restore"),
    ]
    change = store.changes_since(written_back[0].store_version - 1)[-1]
    assert change.after == {
        "label": "before promotion",
        "sha256": snapshot.checksum,
        "flags_changed": 3,
        "segments_changed": 2,
    }


def test_a_snapshot_is_audited_and_listed(store: SqlFlagStore) -> None:
    version = store.version()
    snapshot = create_backup(store, label="nightly", author=ALICE, environment=TARGET)
    assert (snapshot.store_version, snapshot.rows, snapshot.author) == (
        version,
        3,
        ALICE.who,
    )
    [row] = store.changes_since(version)
    assert (row.kind, row.key, row.action, row.environment) == (
        "snapshot",
        snapshot.id,
        "create",
        TARGET,
    )
    assert environment_snapshots(store, TARGET) == [snapshot]
    assert environment_snapshots(store, "production") == []


def test_writing_back_twice_changes_nothing_the_second_time(
    store: SqlFlagStore,
) -> None:
    snapshot = create_backup(store, label="x", author=ALICE, environment=TARGET)
    _promote_badly(store)
    restore_environment(store, snapshot, author=OPS)
    again = restore_environment(store, snapshot.id, author=OPS)
    assert (again.flags_changed, again.segments_changed) == (0, 0)
    assert store.verify_audit().ok


def test_an_edited_snapshot_is_refused_and_nothing_is_written(
    store: SqlFlagStore,
) -> None:
    snapshot = create_backup(store, label="x", author=ALICE, environment=TARGET)
    _promote_badly(store)
    # Someone who can write the database makes the snapshot say "fully on" and
    # fixes its digest in the same row: the audit row's digest still differs.
    with store.engine.begin() as conn:
        doc = conn.execute(
            sa.text("SELECT document FROM environment_snapshots")
        ).scalar_one()
        edited = doc.replace('"boolean":null', '"boolean":"true"')
        conn.execute(
            sa.text("UPDATE environment_snapshots SET document = :d, sha256 = :h"),
            {"d": edited, "h": hashlib.sha256(edited.encode()).hexdigest()},
        )
    version = store.version()
    with pytest.raises(
        BackupDamaged, match="its document was changed after it was taken"
    ):
        restore_environment(store, snapshot, author=OPS)
    assert store.version() == version
    with pytest.raises(SnapshotNotFound, match="no environment snapshot 'nope'"):
        restore_environment(store, "nope", author=OPS)


FLAG_KEYS = st.sampled_from(["vaos", "sm", "uae"])
SEGMENT_NAMES = st.sampled_from(["oracle", "cerner"])


class WriteBackMachine(RuleBasedStateMachine):
    """Any changes between a snapshot and its write-back: the environment ends
    equal to the snapshot and the chain verifies."""

    def __init__(self) -> None:
        super().__init__()
        self.store = SqlFlagStore.open("sqlite://")
        self.snapshots: list[tuple[BackupRef, tuple[object, object]]] = []

    @initialize()
    def seed(self) -> None:
        self.store.create_flag(Flag("vaos"), ALICE, TARGET)
        self.snapshot()

    @rule(key=FLAG_KEYS, pct=st.sampled_from(["0", "5", "50", "100"]))
    def set_percentage(self, key: str, pct: str) -> None:
        self.store.create_flag(Flag(key), ALICE, TARGET)
        change = partial(ops.set_percentage_of_actors, pct=Percentage.parse(pct))
        self.store.change_flag(key, change, ALICE, TARGET)

    @rule(key=FLAG_KEYS, segment=SEGMENT_NAMES | st.none())
    def limit(self, key: str, segment: str | None) -> None:
        if self.store.get_flag(key, TARGET) is None:
            return
        if segment is not None and segment not in self.store.segments(TARGET):
            return
        self.store.change_flag(
            key, lambda f: f.with_changes(eligibility=segment), ALICE, TARGET
        )

    @rule(key=FLAG_KEYS)
    def delete_flag(self, key: str) -> None:
        if self.store.get_flag(key, TARGET) is not None:
            self.store.delete_flag(key, ALICE, TARGET)

    @rule(name=SEGMENT_NAMES, age=st.integers(18, 90))
    def put_segment(self, name: str, age: int) -> None:
        segment = Segment.from_rules(name, [f"age >= {age}"])
        self.store.put_segment(segment, ALICE, TARGET)

    @rule(name=SEGMENT_NAMES)
    def delete_segment(self, name: str) -> None:
        in_use = any(f.eligibility == name for f in self.store.list_flags(TARGET))
        if name in self.store.segments(TARGET) and not in_use:
            self.store.delete_segment(name, ALICE, TARGET)

    @rule()
    def snapshot(self) -> None:
        ref = create_backup(self.store, label="s", author=ALICE, environment=TARGET)
        self.snapshots.append((ref, _state(self.store, TARGET)))

    @rule(data=st.data())
    def write_back(self, data: st.DataObject) -> None:
        ref, state = data.draw(st.sampled_from(self.snapshots))
        restore_environment(self.store, ref, author=OPS)
        assert _state(self.store, TARGET) == state

    def teardown(self) -> None:
        report = self.store.verify_audit()
        self.store.engine.dispose()
        assert report.ok, report.problems


WriteBackMachine.TestCase.settings = settings(
    max_examples=60, stateful_step_count=25, deadline=None
)
test_any_changes_are_written_back_to_the_snapshot = WriteBackMachine.TestCase
