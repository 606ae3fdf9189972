"""What only the memory backend promises, and the port costing nothing on the
evaluation hot path."""

from __future__ import annotations

import random
from functools import partial
from pathlib import Path

import hypothesis.strategies as st
import pytest
from hypothesis import given, settings

from flagramp.core.clock import VirtualClock
from flagramp.core.errors import StoreError
from flagramp.core.flags import Evaluator, Flag, Percentage, Segment
from flagramp.core.flags import operations as ops
from flagramp.store import Author, FlagStore, MemoryFlagStore, SqlFlagStore, UnitOfWork
from flagramp.store.audit import AuditEntry
from flagramp.store.memory_store import MemoryUnitOfWork
from flagramp.store.sql_store import SqlUnitOfWork

ALICE = Author("alice@va.gov")


def test_both_backends_are_flag_stores(tmp_path: Path) -> None:
    # mypy checks these assignments against the Protocols' signatures.
    stores: list[FlagStore] = [
        MemoryFlagStore(),
        SqlFlagStore.open(f"sqlite:///{tmp_path / 'port.db'}"),
    ]
    units: list[type[UnitOfWork]] = [MemoryUnitOfWork, SqlUnitOfWork]
    assert [s.version() for s in stores] == [0, 0]
    assert all(callable(getattr(u, "record", None)) for u in units)


def test_a_unit_of_work_inside_another_in_one_thread_is_refused() -> None:
    store = MemoryFlagStore()
    with store.unit_of_work(ALICE) as unit:
        unit.create_flag(Flag("x"))
        with (
            pytest.raises(StoreError, match="already open in this thread"),
            store.unit_of_work(ALICE),
        ):
            pass  # pragma: no cover
    assert store.require_flag("x") == Flag("x")


def test_readers_keep_their_snapshot_while_a_unit_commits() -> None:
    store = MemoryFlagStore(clock=VirtualClock())
    store.create_flag(Flag("x"), ALICE)
    before = store.changes_since(0)
    store.create_flag(Flag("y"), ALICE)
    assert [c.key for c in before] == ["x"]
    assert [c.key for c in store.changes_since(0)] == ["x", "y"]
    assert store.audit_entries()[0].at == "2026-01-01T00:00:00.000000+00:00"


class ExplodingStore(MemoryFlagStore):
    """A store whose every read raises once the flags are loaded."""

    armed = False

    def get_flag(self, key: str, environment: str = "production") -> Flag | None:
        if self.armed:
            raise AssertionError("evaluation read the store")
        return super().get_flag(key, environment)

    def segments(self, environment: str = "production") -> dict[str, Segment]:
        if self.armed:
            raise AssertionError("evaluation read the store")
        return super().segments(environment)

    def version(self) -> int:
        if self.armed:
            raise AssertionError("evaluation read the store")
        return super().version()


def test_evaluating_a_compiled_flag_touches_no_store() -> None:
    store = ExplodingStore()
    store.put_segment(Segment.from_rules("oracle", ["ehr == oracle"]), ALICE)
    flag = Flag("f", percentage_of_actors=Percentage.parse("25"), eligibility="oracle")
    store.create_flag(flag, ALICE)
    evaluator = Evaluator(store.segments(), VirtualClock(), random.Random(1).random)
    compiled = evaluator.compile(store.require_flag("f"))
    store.armed = True
    enabled = sum(
        compiled.is_enabled(f"User;{i}", {"ehr": "oracle" if i % 2 else "vista"})
        for i in range(10_000)
    )
    assert 1_000 < enabled < 1_500  # about 25 % of the 5,000 eligible


COLUMNS = (*AuditEntry.__slots__[1:],)


@settings(max_examples=60, deadline=None)
@given(
    changes=st.integers(min_value=1, max_value=6),
    pick=st.integers(min_value=0, max_value=10**6),
    column=st.sampled_from(COLUMNS),
)
def test_verify_names_any_edited_row_first(
    changes: int, pick: int, column: str
) -> None:
    store = MemoryFlagStore(clock=VirtualClock())
    store.create_flag(Flag("x"), ALICE)
    for n in range(changes):
        pct = Percentage.parse(str(n + 1))
        store.change_flag("x", partial(ops.set_percentage_of_actors, pct=pct), ALICE)
    rows = store._audit_list  # the reference backend's own list: edit it in place
    index = pick % len(rows)
    original = rows[index]
    value = getattr(original, column)
    forged: object = value + 1 if isinstance(value, int) else f"{value or ''}~"
    fields = {name: getattr(original, name) for name in AuditEntry.__slots__}
    rows[index] = AuditEntry.from_row({**fields, column: forged})
    report = store.verify_audit()
    assert not report.ok
    assert report.problems[0].row_id == original.id
