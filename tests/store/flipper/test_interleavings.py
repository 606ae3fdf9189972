"""Property: however flagramp's writes, outside writes, failures of Flipper's
database and sync rounds interleave, once the database is back and a round has
run, Flipper's rows are exactly what flagramp's flags write, every outside
change is in flagramp's flags, and the audit log verifies.

A Hypothesis state machine on SQLite (two files per run); the outside writer
writes rows as a Rails console would, by hand.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from flagramp.core.flags import Flag, Percentage, Segment
from flagramp.core.flags import operations as ops
from flagramp.store import Author, FlipperTablesStore
from flagramp.store.flipper.holding import rows_to_hold
from flagramp.store.flipper.writes import read_features
from tests.store.flipper.tables import create_flipper_tables, execute

KEYS = st.sampled_from(["a", "b", "c"])
ACTORS = st.sampled_from(["User;1", "User;2", ""])
PERCENT = st.sampled_from(["0", "5", "12.5", "100"])
ALICE = Author("alice@va.gov", "property")
STAMP = "2026-12-01 10:00:00"


class Interleavings(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="flipper-prop-"))
        self.rails = f"sqlite:///{self.dir / 'rails.db'}"
        create_flipper_tables(self.rails, "text")
        self.store = FlipperTablesStore.open(
            "flipper+" + self.rails, f"sqlite:///{self.dir / 'flagramp.db'}"
        )
        self.store.put_segment(Segment.from_rules("oracle", ["ehr == oracle"]), ALICE)
        self.broken = False

    def teardown(self) -> None:
        self.store.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    # --- flagramp -----------------------------------------------------------------

    @rule(key=KEYS, actor=ACTORS)
    def flagramp_adds_an_actor(self, key: str, actor: str) -> None:
        self._change(key, lambda f: ops.add_actor(f, actor))

    @rule(key=KEYS, percent=PERCENT)
    def flagramp_sets_a_percentage(self, key: str, percent: str) -> None:
        self._change(
            key, lambda f: ops.set_percentage_of_actors(f, Percentage.parse(percent))
        )

    @rule(key=KEYS)
    def flagramp_enables(self, key: str) -> None:
        self._change(key, ops.enable)

    @rule(key=KEYS)
    def flagramp_limits_to_a_segment(self, key: str) -> None:
        self._change(key, lambda f: ops.set_eligibility(f, "oracle"))

    @rule(key=KEYS)
    def flagramp_removes(self, key: str) -> None:
        if self.store.get_flag(key) is not None:
            self.store.delete_flag(key, ALICE)

    def _change(self, key: str, change: object) -> None:
        assert callable(change)
        if self.store.get_flag(key) is None:
            self.store.create_flag(Flag(key), ALICE)
        self.store.change_flag(key, change, ALICE)

    # --- outside ------------------------------------------------------------------

    @rule(key=KEYS, actor=ACTORS)
    def rails_adds_an_actor(self, key: str, actor: str) -> None:
        self._outside(
            f"INSERT OR IGNORE INTO flipper_features (key, created_at, updated_at) "
            f"VALUES ('{key}', '{STAMP}', '{STAMP}')",
            f"INSERT OR IGNORE INTO flipper_gates (feature_key, key, value, "
            f"created_at, updated_at) VALUES ('{key}', 'actors', '{actor}', "
            f"'{STAMP}', '{STAMP}')",
        )

    @rule(key=KEYS, percent=PERCENT)
    def rails_sets_a_percentage(self, key: str, percent: str) -> None:
        self._outside(
            f"INSERT OR IGNORE INTO flipper_features (key, created_at, updated_at) "
            f"VALUES ('{key}', '{STAMP}', '{STAMP}')",
            f"DELETE FROM flipper_gates WHERE feature_key = '{key}' "
            "AND key = 'percentage_of_actors'",
            f"INSERT INTO flipper_gates (feature_key, key, value, created_at, "
            f"updated_at) VALUES ('{key}', 'percentage_of_actors', '{percent}', "
            f"'{STAMP}', '{STAMP}')",
        )

    @rule(key=KEYS)
    def rails_removes(self, key: str) -> None:
        self._outside(
            f"DELETE FROM flipper_gates WHERE feature_key = '{key}'",
            f"DELETE FROM flipper_features WHERE key = '{key}'",
        )

    def _outside(self, *statements: str) -> None:
        if not self.broken:
            execute(self.rails, *statements)

    # --- the database and the rounds ----------------------------------------------

    @rule()
    def flippers_database_fails(self) -> None:
        if not self.broken:
            execute(self.rails, "ALTER TABLE flipper_gates RENAME TO away")
            self.broken = True

    @rule()
    def flippers_database_is_back(self) -> None:
        if self.broken:
            execute(self.rails, "ALTER TABLE away RENAME TO flipper_gates")
            self.broken = False

    @rule()
    def a_round(self) -> None:
        self.store.sync()

    @invariant()
    def settled_rows_are_what_flagramp_writes(self) -> None:
        if self.broken:
            return
        self.store.sync()
        assert self.store.pending() == []
        with self.store.flipper.engine.connect() as conn:
            stored = read_features(conn, self.store.flipper.tables)
        segments = self.store.segments()
        schema = self.store.flipper.schema
        flags = {f.key: f for f in self.store.list_flags()}
        features = {k for k, s in stored.items() if s.feature_id is not None}
        assert features == set(flags)
        for key, flag in flags.items():
            assert stored[key].rows == rows_to_hold(
                flag, segments, schema, "production"
            )
        assert self.store.verify_audit().ok


TestInterleavings = Interleavings.TestCase
TestInterleavings.settings = settings(
    max_examples=12,
    stateful_step_count=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
