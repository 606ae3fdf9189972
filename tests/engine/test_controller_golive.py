"""Go live through the store and the controller: the VAOS example on SQLite in
virtual time, through go live and both checkpoints, with simulated windows
pushed to the go-live scope; the go-live scope's routing, compaction and
closing; the flags marked ready to remove; `flags stale` reading the marks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from flagramp.cli.flags_stale import running_flags, stale_rows
from flagramp.cli.sim_windows import ScopeWindows
from flagramp.core.clock import VirtualClock
from flagramp.core.flags import Flag
from flagramp.core.plans import load_plan
from flagramp.engine.checkpoint_result import KpiStatus, QuestionStatus
from flagramp.engine.commands import AnswerQuestion, SignPrerequisite
from flagramp.engine.compile import metric_specs
from flagramp.engine.controller import Controller
from flagramp.engine.go_live_schedule import checkpoint_order
from flagramp.engine.go_live_windows import ENVIRONMENT_FLAG, environment_window
from flagramp.engine.run_state import RunState, RunStatus
from flagramp.engine.scopes import current_scope, epoch_minute
from flagramp.engine.service import RunService
from flagramp.sim import FlagState, span_aggregate
from flagramp.sim.examples import VAOS_FLAGS, vaos_world
from flagramp.stats.windows import DAY, HOUR
from flagramp.store import SqlFlagStore
from flagramp.store.flag_retirements import ready_to_remove
from flagramp.store.windows import WindowStore
from tests.conftest import migrated_database
from tests.engine.run_support import CONTROLLER, EXAMPLES, T0, healthy, launch

VAOS = "vaos-service-integration.yaml"
SCOPE = "R1/go-live"
FLAGS = tuple(f for f, _ in VAOS_FLAGS)
WORLD = vaos_world(users=3_000, requests_per_minute=10.0)


@pytest.fixture(params=["sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlFlagStore]:
    with migrated_database(request, tmp_path) as url:
        sql = SqlFlagStore.open(url, clock=VirtualClock(T0))
        try:
            yield sql
        finally:
            sql.engine.dispose()


class Vaos:
    """The VAOS run's pieces on one store."""

    def __init__(self, store: SqlFlagStore) -> None:
        clock = store.clock
        assert isinstance(clock, VirtualClock)
        self.store, self.clock = store, clock
        self.text = (EXAMPLES / VAOS).read_text()
        self.plan = load_plan(self.text, VAOS).plan
        self.windows = WindowStore(store.engine)
        self.controller = Controller(
            store, self.windows, clock, evaluate=healthy, send=None
        )
        self.service = RunService(store, self.windows, clock)

    def state(self) -> RunState:
        return RunState.from_json(self.service.show("R1").row.state)

    def person(self, role: str) -> str:
        return self.plan.roles[role].people[0]

    def go_live(self) -> None:
        for flag in FLAGS:
            self.store.create_flag(Flag(flag), CONTROLLER, self.plan.environment)
        self.service.start(self.text, person=self.person("product_owner"))
        for i, item in enumerate(self.plan.prerequisites):
            self.service.command("R1", SignPrerequisite(self.person(item.signed_by), i))
        for _ in range(24 * 60):
            self.clock.advance(dt.timedelta(hours=1))
            self.controller.tick()
            state = self.state()
            if state.status is RunStatus.AWAITING_GO_NO_GO:
                launch(self.service, state)
            if state.is_live:
                return
        raise AssertionError(f"not live: {self.state().status}")

    def push_days(self, days: list[int]) -> float:
        """Simulated day windows of the go-live scope (the reference flag's and
        every other flag's), and the environment's contact-center calls."""
        record = self.state().go_live
        assert record is not None
        specs = metric_specs(self.plan.metrics)
        states = tuple(FlagState(f, 100.0) for f in FLAGS)
        scopes = {f: ScopeWindows(SCOPE, f, specs) for f in FLAGS}
        calls = 0.0
        for day in days:
            a = record.minute + day * DAY
            agg = span_aggregate(3, WORLD, a, a + DAY, states, report=FLAGS)
            for flag in FLAGS:
                added = self.windows.add_batch(
                    SCOPE, f"{flag}-{day}", scopes[flag].add(agg)
                )
                assert added
            counted = float(agg.environment.sum())
            calls += counted
            env = environment_window(
                SCOPE, a, a + DAY, {"contact_center_calls": counted}
            )
            assert self.windows.add_batch(SCOPE, f"env-{day}", [env])
        return calls

    def tick_until_recorded(self, checkpoints: int) -> None:
        """Tick every 12 hours until that many checkpoints are recorded."""
        for _ in range(200):
            if len(self.state().checkpoints) >= checkpoints:
                return
            self.clock.advance(dt.timedelta(hours=12))
            self.controller.tick()
        raise AssertionError(f"no checkpoint {checkpoints}: {self.state().status}")


def _raw(at: dt.datetime, flag: str, actor: str) -> list[object]:
    stamp = at.isoformat()
    return [
        {
            "type": "exposure",
            "at": stamp,
            "actor": actor,
            "flag": flag,
            "variant": "on",
        },
        {
            "type": "request",
            "at": stamp,
            "actor": actor,
            "route": "/vaos/v2/appointments",
            "status": 200,
            "latency_ms": 120.0,
        },
    ]


def test_vaos_through_the_store_goes_live_and_records_both_checkpoints(
    store: SqlFlagStore,
) -> None:
    vaos = Vaos(store)
    vaos.go_live()
    state = vaos.state()
    record = state.go_live
    assert record is not None
    # The go-live scope is open for every flag, and events go there.
    assert current_scope("R1", state) == SCOPE
    for flag in FLAGS:
        assert vaos.windows.scope_state(SCOPE, flag) is not None
    now = vaos.clock.now()
    pushed = vaos.service.push_events("R1", _raw(now, FLAGS[0], "u1"))
    assert set(pushed) == {f"{SCOPE} {f}" for f in FLAGS}
    assert vaos.windows.scope_actors(SCOPE, FLAGS[0]) == 1
    minute_windows = vaos.windows.windows(SCOPE, FLAGS[0])
    assert minute_windows and all(w.key.span == 1 for w in minute_windows)

    # The first week: days 0 and 6 of the scope (any window in the span counts).
    week_calls = vaos.push_days([1, 6])
    vaos.tick_until_recorded(1)
    # Computed in the tick it fell due: the run never waited in checkpoint_due.
    kinds = [e.kind for e in vaos.service.log("R1")]
    assert kinds.count("checkpoint_recorded") == 1
    (week,) = vaos.state().checkpoints
    assert week.checkpoint == "1-week results"
    assert [k.name for k in week.kpis] == [
        "abandonment",
        "contact_center_calls",
        "errors",
    ]
    # Every KPI has an actual; the actorless one from the environment's count.
    assert all(k.actual.value is not None for k in week.kpis)
    assert all(k.status is not KpiStatus.NO_DATA for k in week.kpis)
    calls = next(k for k in week.kpis if k.name == "contact_center_calls")
    assert calls.actual.value == pytest.approx(week_calls)
    assert week.unique_users > 0
    # The query answered itself; people's questions wait, nothing filled in.
    users = week.question("Number of unique users")
    assert users.status is QuestionStatus.ANSWERED and users.value is not None
    waiting = dict(week.awaiting())
    assert waiting["Types of errors logged"] == "eng_lead"
    for text in waiting:
        assert week.question(text).answer is None
        assert week.question(text).person is None

    # The minute windows aged into hours, then days.
    minutes = [w for w in vaos.windows.windows(SCOPE, FLAGS[0]) if w.key.span < HOUR]
    assert minutes == []
    spans = {w.key.span for w in vaos.windows.windows(SCOPE, FLAGS[0])}
    assert spans == {DAY}

    eng = vaos.person("eng_lead")
    vaos.service.command(
        "R1",
        AnswerQuestion(eng, "Types of errors logged", "timeouts", "1-week results"),
    )
    typed = vaos.state().checkpoints[0].question("Types of errors logged")
    assert (typed.answer, typed.person) == ("timeouts", eng)

    month = checkpoint_order(vaos.plan)[1]
    last_day = int(month.after.delta / dt.timedelta(days=1)) - 1
    month_calls = vaos.push_days([last_day])
    vaos.tick_until_recorded(2)
    month_result = vaos.state().checkpoints[1]
    assert month_result.checkpoint == "1-month results"
    assert all(k.actual.value is not None for k in month_result.kpis)
    month_kpi = next(k for k in month_result.kpis if k.name == "contact_center_calls")
    # Cumulative from go live: both weeks' days and the last one.
    assert month_kpi.actual.value == pytest.approx(week_calls + month_calls)
    assert vaos.state().status is RunStatus.GO_LIVE_WATCHING  # people's turn

    # Nothing marked before the run completes; every flag is running.
    env = vaos.plan.environment
    assert ready_to_remove(store.engine, env) == {}
    assert running_flags(store, env) >= set(FLAGS)

    # People answer every open question; the run completes and retires.
    while True:
        state = vaos.state()
        open_ = [(r.checkpoint, q, role) for r in state.checkpoints
                 for q, role in r.awaiting()]  # fmt: skip
        if not open_:
            break
        where, question, role = open_[0]
        assert role is not None
        vaos.service.command(
            "R1", AnswerQuestion(vaos.person(role), question, "no", where)
        )
    assert vaos.state().status is RunStatus.COMPLETED
    marks = ready_to_remove(store.engine, env)
    assert set(marks) == set(FLAGS)
    assert {m.run for m in marks.values()} == {"R1"}
    # The go-live scope is closed: its actor states dropped, its windows kept.
    assert vaos.windows.scope_actors(SCOPE, FLAGS[0]) == 0
    assert vaos.windows.windows(SCOPE, ENVIRONMENT_FLAG)
    # `flags stale`: the marked flags, now that no plan runs them.
    rows = stale_rows(
        store, env, now=vaos.clock.now(), older_than=dt.timedelta(days=365)
    )
    assert {r.key for r in rows} == set(FLAGS)
    assert all(r.mark is not None and r.mark.run == "R1" for r in rows)
    # A new run of the plan names the flags again: they drop off the list.
    vaos.service.start(vaos.text, person=vaos.person("product_owner"))
    assert (
        stale_rows(store, env, now=vaos.clock.now(), older_than=dt.timedelta(0)) == []
    )
    assert epoch_minute(vaos.clock.now()) > record.minute
