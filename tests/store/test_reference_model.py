"""SQLite against the memory reference: any sequence of units of work leaves both
stores with the same flags, segments, versions, change feed and a verifying log."""

from __future__ import annotations

import tempfile
from pathlib import Path

import hypothesis.strategies as st
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from flagramp.core.clock import VirtualClock
from flagramp.core.errors import FlagrampError
from flagramp.core.flags import Flag, Percentage, Segment
from flagramp.core.flags import operations as ops
from flagramp.store import Author, FlagStore, MemoryFlagStore, SqlFlagStore, UnitOfWork

KEYS = st.sampled_from(["a", "b", "C", "a/b"])
ENVIRONMENTS = st.sampled_from(["production", "staging"])
SEGMENTS = st.sampled_from(["oracle", "vista"])
PERCENTS = st.sampled_from(["0", "5", "12.5", "100"])

# One step of a unit of work: (operation, key, environment, argument).
STEPS = st.tuples(
    st.sampled_from(
        [
            "create",
            "enable",
            "disable",
            "percent",
            "eligibility",
            "delete",
            "segment",
            "drop_segment",
            "record",
        ]
    ),
    KEYS,
    ENVIRONMENTS,
    st.one_of(PERCENTS, SEGMENTS),
)


def apply(unit: UnitOfWork, step: tuple[str, str, str, str]) -> None:
    operation, key, environment, argument = step
    if operation == "create":
        unit.create_flag(Flag(key), environment)
    elif operation == "enable":
        unit.change_flag(key, ops.enable, environment, "enable")
    elif operation == "disable":
        unit.change_flag(key, ops.disable, environment, "disable")
    elif operation == "percent" and argument[0].isdigit():
        pct = Percentage.parse(argument)
        unit.change_flag(
            key, lambda f: ops.set_percentage_of_actors(f, pct), environment
        )
    elif operation == "eligibility" and not argument[0].isdigit():
        unit.change_flag(key, lambda f: ops.set_eligibility(f, argument), environment)
    elif operation == "delete":
        unit.delete_flag(key, environment)
    elif operation == "segment" and not argument[0].isdigit():
        unit.put_segment(Segment.from_rules(argument, [f"ehr == {key}"]), environment)
    elif operation == "drop_segment" and not argument[0].isdigit():
        unit.delete_segment(argument, environment)
    elif operation == "record":
        unit.record(environment, "run", key, "advance", None, {"to": argument})


class SameAsTheReference(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.directory = tempfile.TemporaryDirectory()
        url = f"sqlite:///{Path(self.directory.name) / 'model.db'}"
        # One clock for both, so timestamps agree too.
        clock = VirtualClock()
        self.stores: list[FlagStore] = [
            MemoryFlagStore(clock),
            SqlFlagStore.open(url, clock),
        ]

    def teardown(self) -> None:
        sql = self.stores[1]
        assert isinstance(sql, SqlFlagStore)
        sql.engine.dispose()
        self.directory.cleanup()

    @rule(steps=st.lists(STEPS, min_size=1, max_size=4), fail_at_end=st.booleans())
    def unit_of_work(
        self, steps: list[tuple[str, str, str, str]], fail_at_end: bool
    ) -> None:
        outcomes = []
        for store in self.stores:
            try:
                with store.unit_of_work(Author("model", "test")) as unit:
                    for step in steps:
                        apply(unit, step)
                    if fail_at_end:
                        raise RuntimeError("rolled back")
                outcomes.append("committed")
            except FlagrampError as exc:
                outcomes.append(f"{type(exc).__name__}: {exc}")
            except RuntimeError:
                outcomes.append("rolled back")
        assert outcomes[0] == outcomes[1]

    @invariant()
    def both_hold_the_same(self) -> None:
        memory, sql = self.stores
        assert memory.version() == sql.version()
        assert memory.environments() == sql.environments()
        for environment in ("production", "staging"):
            assert memory.list_flags(environment) == sql.list_flags(environment)
            assert memory.segments(environment) == sql.segments(environment)
        feeds = [
            [
                (c.version, c.environment, c.kind, c.key, c.action, c.before, c.after)
                for c in store.changes_since(0, limit=10_000)
            ]
            for store in self.stores
        ]
        assert feeds[0] == feeds[1]
        assert memory.verify_audit().ok and sql.verify_audit().ok


SameAsTheReference.TestCase.settings = settings(
    max_examples=20, stateful_step_count=8, deadline=None
)
test_sqlite_behaves_as_the_memory_reference = SameAsTheReference.TestCase
