"""The TMP promotion plan (seed 004) run through the service and the controller:
int → QA → pre-prod → prod in virtual time, with hooks registered by name.
Go at every step; and No-Go at prod, which restores prod exactly, runs the
restore hook and the probes again, and leaves an audit chain that verifies."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from flagramp.core.clock import VirtualClock
from flagramp.core.flags import Flag, Percentage, Segment
from flagramp.core.plans import Answer, load_plan
from flagramp.engine.commands import (
    CommandRefused,
    FinishManualPhase,
    MeetMilestone,
    SignPrerequisite,
    Vote,
)
from flagramp.engine.controller import Controller
from flagramp.engine.hook_loading import HookLoadError, load_hooks
from flagramp.engine.notifications.webhooks import WebhookFormat, add_webhook
from flagramp.engine.probes import HookRegistry
from flagramp.engine.promotion_state import PromotionState
from flagramp.engine.run_state import RunStatus
from flagramp.engine.runner import RunConflict
from flagramp.engine.service import RunService
from flagramp.reports import collect
from flagramp.reports.stored import read_record
from flagramp.store import Author, SqlFlagStore
from flagramp.store.backup_refs import SNAPSHOT_KIND
from flagramp.store.backup_schedules import list_backup_schedules
from flagramp.store.notification_tables import notification_outbox
from flagramp.store.tables import audit_log
from flagramp.store.windows import WindowStore
from tests.conftest import SQL_BACKENDS, migrated_database
from tests.engine.run_support import EXAMPLES
from tests.reports.vaos_run import MemoryWindows

TMP = "tmp-deployment.yaml"
OPS = Author("ops@va.gov", "set up the environments")
NEW_YORK = ZoneInfo("America/New_York")
# A Thursday noon in New York, a week before the production date (7/26).
START = dt.datetime(2023, 7, 20, 12, tzinfo=NEW_YORK).astimezone(dt.UTC)

Calls = list[tuple[str, str, dt.datetime]]


@pytest.fixture(params=SQL_BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlFlagStore]:
    with migrated_database(request, tmp_path) as url:
        sql = SqlFlagStore.open(url, clock=VirtualClock(START))
        try:
            _environments(sql)
            yield sql
        finally:
            sql.engine.dispose()


def _environments(store: SqlFlagStore) -> None:
    """The release in int; production with its own, older state."""
    oracle = Segment.from_rules("oracle", ["ehr == 'oracle'"])
    store.put_segment(oracle, OPS, "int")
    store.create_flag(
        Flag(
            "tmp_scheduler",
            percentage_of_actors=Percentage.parse(100),
            eligibility="oracle",
        ),
        OPS,
        "int",
    )
    store.create_flag(Flag("tmp_banner", boolean=True), OPS, "int")
    vista = Segment.from_rules("vista", ["ehr == 'vista'"])
    store.put_segment(vista, OPS, "production")
    store.create_flag(
        Flag("tmp_banner", percentage_of_actors=Percentage.parse(20)), OPS, "production"
    )
    store.create_flag(Flag("prod_only", boolean=True), OPS, "production")
    with store.unit_of_work(OPS) as unit:
        add_webhook(
            unit,
            "production",
            "https://hooks.example.gov/tmp",
            format=WebhookFormat.JSON,
            secret="s" * 32,
            at=START,
        )


def _hooks(calls: Calls, clock: VirtualClock) -> HookRegistry:
    hooks = HookRegistry()
    for name in ("tmp_verification_tests", "backup", "restore"):

        def hook(args: object, name: str = name) -> tuple[bool, str]:
            assert isinstance(args, dict)
            calls.append((name, str(args.get("environment")), clock.now()))
            return True, f"{name} ok"

        hooks.register(name, hook)
    return hooks


class Tmp:
    def __init__(self, store: SqlFlagStore) -> None:
        clock = store.clock
        assert isinstance(clock, VirtualClock)
        self.store, self.clock = store, clock
        self.text = (EXAMPLES / TMP).read_text()
        self.plan = load_plan(self.text, TMP).plan
        self.calls: Calls = []
        windows = WindowStore(store.engine)
        self.service = RunService(store, windows, clock)
        self.controller = Controller(
            store, windows, clock, send=None, hooks=_hooks(self.calls, clock)
        )

    def person(self, role: str) -> str:
        return self.plan.roles[role].people[0]

    def state(self) -> PromotionState:
        return PromotionState.from_json(self.service.reader.load("R1").state)

    def start(self) -> None:
        row = self.service.start(self.text, person=self.person("dev_team"), file=TMP)
        assert row.status == RunStatus.WAITING_PREREQUISITES.value
        for i, item in enumerate(self.plan.prerequisites):
            self.service.command("R1", SignPrerequisite(self.person(item.signed_by), i))

    def until(self, *statuses: RunStatus, step: int | None = None) -> None:
        """Tick every 2 hours (from noon: 22:00 is a tick, when the off-hours
        window opens and production's backup is due) until the run is in one
        of `statuses`. Two hours, not less: the test runs on three backends."""
        for _ in range(12 * 14):
            state = self.state()
            if state.status in statuses and (step is None or state.phase == step):
                return
            self.clock.advance(dt.timedelta(hours=2))
            self.controller.tick()
        raise AssertionError(f"never {statuses}: {self.state().status}")

    def vote(self, answer: Answer) -> None:
        for role in ("va_oit", "va_business"):
            if self.state().status is RunStatus.AWAITING_GO_NO_GO:
                self.service.command("R1", Vote(self.person(role), role, answer, "ok"))

    def kinds(self) -> list[str]:
        return [e.kind for e in self.service.log("R1")]


Config = tuple[list[Flag], dict[str, Segment]]


def _config(store: SqlFlagStore, env: str) -> Config:
    return store.list_flags(env), store.segments(env)


def _to_production(tmp: Tmp) -> tuple[Config, Config]:
    """Start, Go through QA and pre-prod (their probes decide), and stop at the
    production go/no-go; production as it was before its step."""
    tmp.start()
    before = _config(tmp.store, "production")
    tmp.until(RunStatus.AWAITING_GO_NO_GO, step=2)
    return before, _config(tmp.store, "production")


def test_tmp_is_promoted_through_qa_and_pre_prod_to_production(
    store: SqlFlagStore,
) -> None:
    tmp = Tmp(store)
    before, _ = _to_production(tmp)
    state = tmp.state()
    qa, pre, prod = state.steps
    assert [(s.source, s.target, s.outcome) for s in state.steps] == [
        ("int", "qa", "go"),
        ("qa", "pre-prod", "go"),
        ("pre-prod", "production", None),
    ]
    # Every change inside the off-hours window (22:00-06:00 New York).
    for record in state.steps:
        assert record.copied_at is not None
        local = record.copied_at.astimezone(NEW_YORK).time()
        assert local >= dt.time(22) or local < dt.time(6)
    # Production: the backup ran at about 10 pm the evening before its date,
    # before any change; the step itself on its date.
    assert prod.backup is not None and prod.backup["ok"] is True
    (backup,) = [c for c in tmp.calls if c[0] == "backup"]
    assert backup[1] == "production"
    assert backup[2] == dt.datetime(2023, 7, 25, 22, tzinfo=NEW_YORK)
    assert prod.copied_at is not None and prod.copied_at > backup[2]
    assert prod.copied_at.astimezone(NEW_YORK).date() == dt.date(2023, 7, 26)
    assert qa.backup is None and pre.backup is None  # `backup: false`
    # The store's backup of production: a one-off schedule written when the
    # step began, due at 10 pm the evening prior, taken then; its id in the log.
    assert qa.store_backup is None and pre.store_backup is None
    assert prod.backup_schedule == "R1-step-3" and prod.backup_due == backup[2]
    (taken,) = [e for e in tmp.service.log("R1") if e.kind == "promotion_backup"]
    assert taken.data["backup"] == prod.store_backup is not None
    assert dt.datetime.fromisoformat(taken.at) == backup[2]
    (schedule,) = list_backup_schedules(store)
    assert (schedule.name, schedule.environment) == ("R1-step-3", "production")
    assert schedule.last_backup == prod.store_backup and schedule.next_due is None
    # Production's probes ran on production; no person has voted yet.
    assert [p["probe"] for p in prod.probes] == ["hook tmp_verification_tests"]
    assert ("tmp_verification_tests", "production") in [c[:2] for c in tmp.calls]
    # Only the plan's voting roles, held by the person voting, are taken.
    with pytest.raises(CommandRefused):
        tmp.service.command("R1", Vote(tmp.person("om_team"), "om_team", Answer.LAUNCH))
    with pytest.raises(CommandRefused):
        tmp.service.command(
            "R1", Vote(tmp.person("va_oit"), "va_business", Answer.LAUNCH)
        )

    # The checklist: who did each item, on which day and at what time; the
    # install (60-120 minutes) overruns and raises an alert through the outbox.
    installer = tmp.person("patch_installers")
    tmp.service.command("R1", FinishManualPhase(tmp.person("communication_lead"), (0,)))
    tmp.service.command("R1", FinishManualPhase(tmp.person("om_team"), (1,)))
    tmp.service.command("R1", FinishManualPhase(installer, (2,)))
    with pytest.raises(CommandRefused):  # not the installers' role
        tmp.service.command("R1", FinishManualPhase(tmp.person("om_team"), (3,)))
    tmp.clock.advance(dt.timedelta(hours=2, minutes=30))
    tmp.controller.tick()
    tmp.service.command("R1", FinishManualPhase(installer, (3,), "slow import"))
    marks = tmp.state().steps[2].checklist
    assert [(m.item, m.person) for m in marks] == [
        (0, tmp.person("communication_lead")),
        (1, tmp.person("om_team")),
        (2, installer),
        (3, installer),
    ]
    assert marks[3].at == tmp.clock.now() and marks[3].note == "slow import"
    (overrun,) = [e for e in tmp.service.log("R1") if e.kind == "promotion_overrun"]
    assert str(overrun.data["item"]).startswith("Install:")
    elapsed = overrun.data["elapsed_minutes"]
    assert overrun.data["expected"] == "2h"
    assert isinstance(elapsed, int) and elapsed > 120
    with store.engine.connect() as conn:
        kinds = list(conn.execute(sa.select(notification_outbox.c.kind)).scalars())
    assert "promotion_step" in kinds

    # Milestones: recorded by their owner role (or the plan's owner) with the
    # day they were met, shown against their target.
    unit_testing = "Unit Testing Completed"
    tmp.service.command("R1", MeetMilestone(tmp.person("dev_team"), unit_testing))
    for refused in (
        MeetMilestone(tmp.person("dev_team"), unit_testing),  # twice
        MeetMilestone(tmp.person("training"), "Pre-Production Testing Completed"),
        MeetMilestone(tmp.person("dev_team"), "No such milestone"),
    ):
        with pytest.raises(CommandRefused):
            tmp.service.command("R1", refused)
    rows = {m.name: m for m in tmp.service.show("R1").milestones}
    assert rows[unit_testing].actual == tmp.clock.now().date()
    assert rows[unit_testing].days_late == 14  # target 7/12, met 7/26
    assert rows["Pre-Production Testing Completed"].actual is None

    tmp.vote(Answer.LAUNCH)
    tmp.until(RunStatus.COMPLETED)
    # The report's promotion layout: what the engine logged of each step.
    report = collect(
        read_record(tmp.service.reader, "R1"),
        MemoryWindows(),
        as_of=tmp.clock.now(),
    )
    assert report.promotion is not None
    layout = report.promotion.steps
    assert [s.outcome for s in layout] == ["go", "go", "go"]
    assert f"taken: {prod.store_backup} at 2023-07-26 02:00 UTC" in layout[2].backup
    assert str(layout[2].checklist[3].done_by).startswith(installer)
    milestones = {m.name: m.actual for m in report.milestones}
    assert milestones[unit_testing] == rows[unit_testing].actual
    # Production now has the release's flags; its own flag is left alone.
    released = {f.key: f for f in store.list_flags("production")}
    assert released["tmp_scheduler"] == store.require_flag("tmp_scheduler", "int")
    assert released["tmp_banner"] == store.require_flag("tmp_banner", "int")
    assert "prod_only" in released
    assert store.segments("production")["oracle"] == store.segments("int")["oracle"]
    assert released != {f.key: f for f in before[0]}
    assert store.verify_audit().problems == ()


def test_no_go_at_production_restores_it_exactly_and_verifies_again(
    store: SqlFlagStore,
) -> None:
    tmp = Tmp(store)
    before, copied = _to_production(tmp)
    assert copied != before  # the release was copied in
    calls_before = len(tmp.calls)
    tmp.vote(Answer.PIVOT)
    tmp.until(RunStatus.ABORTED)
    # Flags and segments equal the snapshot taken before the step.
    assert _config(store, "production") == before
    prod = tmp.state().steps[2]
    assert prod.outcome == "no_go"
    assert prod.restored is not None and prod.restored["flags_changed"] == 2
    # The restore hook, then the verification again, on production.
    after = [c[:2] for c in tmp.calls[calls_before:]]
    assert after == [
        ("restore", "production"),
        ("tmp_verification_tests", "production"),
    ]
    assert prod.probes_after_restore and prod.probes_after_restore[0]["ok"] is True
    kinds = tmp.kinds()
    assert kinds.index("promotion_restored") < kinds.index("promotion_reverified")
    assert kinds[-1] == "aborted"
    # The audit chain verifies and shows the restore as new changes.
    assert store.verify_audit().problems == ()
    with store.engine.connect() as conn:
        actions = list(
            conn.execute(
                sa.select(audit_log.c.entity_kind, audit_log.c.action).where(
                    audit_log.c.environment == "production"
                )
            )
        )
    assert ("flag", "restore") in [tuple(a) for a in actions]
    assert any(
        kind == SNAPSHOT_KIND and action == "restore" for kind, action in actions
    )
    # The run is over: no command moves it.
    with pytest.raises(CommandRefused):
        tmp.service.command("R1", Vote(tmp.person("va_oit"), "va_oit", Answer.LAUNCH))
    # The vote that decided the step, sent again: refused, and said to have
    # counted (a client whose answer was lost learns it); nothing written.
    pivot = Vote(tmp.person("va_oit"), "va_oit", Answer.PIVOT, "ok")
    logged = tmp.service.log("R1")
    (voted,) = [
        e for e in logged if e.kind == "promotion_vote" and e.actor == pivot.person
    ]
    with pytest.raises(CommandRefused, match=f"counted .* \\(event {voted.seq},"):
        tmp.service.command("R1", pivot)
    assert tmp.service.log("R1") == logged


def test_hooks_come_from_the_modules_flagramp_hooks_names() -> None:
    assert load_hooks({}).hooks == {}
    loaded = load_hooks({"FLAGRAMP_HOOKS": "tests.engine.promotion_hooks"})
    assert set(loaded.hooks) == {"backup", "restore", "tmp_verification_tests"}
    with pytest.raises(HookLoadError):
        load_hooks({"FLAGRAMP_HOOKS": "tests.engine.no_such_module"})
    with pytest.raises(HookLoadError):
        load_hooks({"FLAGRAMP_HOOKS": "tests.engine.run_support"})


def test_a_promotion_a_person_overtook_is_decided_again_next_tick_not_at_once(
    store: SqlFlagStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    tmp = Tmp(store)
    tmp.start()
    advance = tmp.controller.promotions.advance
    calls = 0

    def overtaken(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        advance(*args, **kwargs)  # the step's hooks ran...
        raise RunConflict("R1", 1, 2)  # ...and a person moved the run

    monkeypatch.setattr(tmp.controller.promotions, "advance", overtaken)
    report = tmp.controller.tick()
    assert report.conflicts == ["R1"] and calls == 1  # hooks not run again now
