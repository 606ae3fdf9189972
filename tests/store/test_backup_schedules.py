"""Scheduled backups: the evening before a deployment, daily at a local time
across clock changes, run once per due time however many controllers tick."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flagramp.core.clock import VirtualClock
from flagramp.core.errors import BackupError
from flagramp.core.flags import Flag
from flagramp.store import Author, SqlFlagStore
from flagramp.store.backup_refs import BackupKind
from flagramp.store.backup_schedules import (
    before_day,
    cancel_backup_schedule,
    due_backups,
    evening_before,
    list_backup_schedules,
    next_daily,
    run_due_backups,
    schedule_backup,
)
from flagramp.store.backups import environment_snapshots, list_backups
from tests.conftest import SQL_BACKENDS, migrated_database

NEW_YORK = "America/New_York"
OPS = Author("ops@va.gov", "seed 004: backup the evening prior")
CONTROLLER = Author("controller")
UTC = dt.UTC


def _at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


@pytest.mark.parametrize(
    ("day", "zone", "expected"),
    [
        # Seed 004's deployment date, 7/26/2023: 10 pm Eastern (EDT) the 25th.
        (dt.date(2023, 7, 26), NEW_YORK, "2023-07-26T02:00:00+00:00"),
        (dt.date(2023, 1, 10), NEW_YORK, "2023-01-10T03:00:00+00:00"),
        (dt.date(2023, 7, 26), "UTC", "2023-07-25T22:00:00+00:00"),
        (dt.date(2023, 7, 26), "Asia/Dubai", "2023-07-25T18:00:00+00:00"),
    ],
)
def test_the_evening_before_a_deployment(
    day: dt.date, zone: str, expected: str
) -> None:
    assert evening_before(day, zone) == _at(expected)


def test_a_plans_backup_time_before_its_step() -> None:
    # promotion step on 7/26 with `backup: {at: "22:00", days_before: 1}`
    step = dt.date(2023, 7, 26)
    assert before_day(
        step, days_before=1, at=dt.time(22), timezone=NEW_YORK
    ) == evening_before(step, NEW_YORK)
    assert before_day(step, days_before=0, at=dt.time(1, 30), timezone=NEW_YORK) == (
        _at("2023-07-26T05:30:00+00:00")
    )


@pytest.mark.parametrize(
    ("at", "after", "expected"),
    [
        ("22:00", "2026-03-07T12:00:00+00:00", "2026-03-08T03:00:00+00:00"),
        # The clocks go forward on 8 March: 10 pm is now 02:00 UTC.
        ("22:00", "2026-03-08T03:00:00+00:00", "2026-03-09T02:00:00+00:00"),
        # 02:30 does not exist on 8 March; it falls just after the gap.
        ("02:30", "2026-03-08T00:00:00+00:00", "2026-03-08T07:30:00+00:00"),
        # 01:30 happens twice on 1 November; the first one counts.
        ("01:30", "2026-11-01T00:00:00+00:00", "2026-11-01T05:30:00+00:00"),
        ("22:00", "2026-11-02T03:00:00+00:00", "2026-11-03T03:00:00+00:00"),
    ],
)
def test_daily_across_clock_changes(at: str, after: str, expected: str) -> None:
    assert next_daily(dt.time.fromisoformat(at), NEW_YORK, _at(after)) == _at(expected)


@given(
    after=st.datetimes(
        min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1)
    ).map(lambda d: d.replace(tzinfo=UTC)),
    at=st.times(),
    zone=st.sampled_from([NEW_YORK, "Europe/London", "Australia/Lord_Howe", "UTC"]),
)
def test_daily_is_the_next_local_time_within_a_day(
    after: dt.datetime, at: dt.time, zone: str
) -> None:
    due = next_daily(at, zone, after)
    assert after < due <= after + dt.timedelta(hours=25)
    local = due.astimezone(ZoneInfo(zone))
    # Exactly `at`, unless `at` fell into a gap the clocks jumped over.
    if local.time() != at:
        naive = dt.datetime.combine(local.date(), at)
        back = naive.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)
        assert back.astimezone(ZoneInfo(zone)).replace(tzinfo=None) != naive


@pytest.fixture(params=SQL_BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlFlagStore]:
    with migrated_database(request, tmp_path) as url:
        clock = VirtualClock(_at("2023-07-25T12:00:00+00:00"))
        store = SqlFlagStore.open(url, clock=clock)
        store.create_flag(Flag("tmp_release_5_0_4"), OPS, "prod")
        yield store
        store.engine.dispose()


def _clock(store: SqlFlagStore) -> VirtualClock:
    assert isinstance(store.clock, VirtualClock)
    return store.clock


def test_a_one_off_and_a_daily_schedule_run_when_due_and_move_on(
    store: SqlFlagStore, tmp_path: Path
) -> None:
    clock = _clock(store)
    deploy = dt.date(2023, 7, 26)
    schedule_backup(
        store,
        "tmp-5.0.4-evening-prior",
        label="TMP Prod, the evening prior to deployment",
        author=OPS,
        now=clock.now(),
        once_at=evening_before(deploy, NEW_YORK),
        timezone=NEW_YORK,
        environment="prod",
    )
    schedule_backup(
        store,
        "nightly",
        label="nightly",
        author=OPS,
        now=clock.now(),
        daily_at=dt.time(23, 30),
        timezone=NEW_YORK,
    )
    assert due_backups(store, clock.now()) == []
    clock.current = _at("2023-07-26T02:00:00+00:00")  # 10 pm in New York
    [due] = due_backups(store, clock.now())
    assert due.name == "tmp-5.0.4-evening-prior"
    [snapshot] = run_due_backups(
        store, clock.now(), author=CONTROLLER, directory=tmp_path
    )
    assert (snapshot.kind, snapshot.environment) == (BackupKind.ENVIRONMENT, "prod")
    assert (
        run_due_backups(store, clock.now(), author=CONTROLLER, directory=tmp_path) == []
    )
    clock.current = _at("2023-07-29T12:00:00+00:00")  # the controller was down
    [full] = run_due_backups(store, clock.now(), author=CONTROLLER, directory=tmp_path)
    assert full.kind == BackupKind.FULL
    assert [f.ref for f in list_backups(tmp_path)] == [full]
    by_name = {s.name: s for s in list_backup_schedules(store)}
    assert by_name["tmp-5.0.4-evening-prior"].next_due is None
    assert by_name["tmp-5.0.4-evening-prior"].last_backup == snapshot.id
    # One backup for the missed days, the next one tonight, 11:30 pm EDT.
    assert by_name["nightly"].next_due == _at("2023-07-30T03:30:00+00:00")
    assert by_name["nightly"].last_done == clock.now()
    runs = [
        (c.key, c.action, c.who)
        for c in store.changes_since(0)
        if c.kind == "backup_schedule"
    ]
    assert runs == [
        ("tmp-5.0.4-evening-prior", "create", OPS.who),
        ("nightly", "create", OPS.who),
        ("tmp-5.0.4-evening-prior", "run", CONTROLLER.who),
        ("nightly", "run", CONTROLLER.who),
    ]
    assert store.verify_audit().ok


def test_two_controllers_ticking_at_once_take_one_snapshot(
    store: SqlFlagStore, tmp_path: Path
) -> None:
    clock = _clock(store)
    schedule_backup(
        store,
        "prod-nightly",
        label="nightly",
        author=OPS,
        now=clock.now(),
        daily_at=dt.time(22, 0),
        timezone=NEW_YORK,
        environment="prod",
    )
    clock.current = _at("2023-07-26T02:00:00+00:00")
    start = threading.Barrier(2)
    made: list[int] = []

    def tick() -> None:
        start.wait()
        made.append(len(run_due_backups(store, clock.now(), author=CONTROLLER)))

    ticks = [threading.Thread(target=tick) for _ in range(2)]
    for thread in ticks:
        thread.start()
    for thread in ticks:
        thread.join()
    assert sorted(made) == [0, 1]
    assert len(environment_snapshots(store, "prod")) == 1
    assert store.verify_audit().ok


def test_replacing_and_cancelling_a_schedule_are_audited(store: SqlFlagStore) -> None:
    now = _clock(store).now()
    for at in (dt.time(22, 0), dt.time(21, 0)):
        schedule_backup(store, "n", label="n", author=OPS, now=now, daily_at=at)
    [schedule] = list_backup_schedules(store)
    assert schedule.daily_at == dt.time(21, 0)
    cancel_backup_schedule(store, "n", author=OPS)
    assert list_backup_schedules(store) == []
    actions = [c.action for c in store.changes_since(0) if c.kind == "backup_schedule"]
    assert actions == ["create", "update", "delete"]
    with pytest.raises(BackupError, match="no backup schedule 'n'"):
        cancel_backup_schedule(store, "n", author=OPS)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "daily or once, not both or neither"),
        (
            {"daily_at": dt.time(22), "once_at": _at("2023-07-26T02:00:00+00:00")},
            "daily or once, not both or neither",
        ),
        ({"once_at": dt.datetime(2023, 7, 26)}, "a one-off backup time needs a time"),
        ({"daily_at": dt.time(22), "timezone": "Mars/Olympus"}, "unknown time zone"),
    ],
)
def test_a_schedule_that_cannot_be_kept_is_refused(
    store: SqlFlagStore, options: dict[str, object], message: str
) -> None:
    version = store.version()
    with pytest.raises(BackupError, match=message):
        schedule_backup(
            store,
            "x",
            label="x",
            author=OPS,
            now=_clock(store).now(),
            **options,  # type: ignore[arg-type]
        )
    assert store.version() == version


def test_the_controllers_tick_makes_the_due_backups(
    store: SqlFlagStore, tmp_path: Path
) -> None:
    # `flagramp backup schedule` promises that a running controller takes the
    # backup: no cron job beside it.
    from flagramp.engine.controller import Controller
    from flagramp.store.windows import WindowStore

    clock = _clock(store)
    schedule_backup(
        store,
        "nightly",
        label="nightly",
        author=OPS,
        now=clock.now(),
        daily_at=dt.time(22, 0),
        timezone=NEW_YORK,
    )
    controller = Controller(
        store, WindowStore(store.engine), clock, send=None, backup_dir=tmp_path
    )
    assert controller.tick().backups == []
    clock.current = _at("2023-07-26T02:00:00+00:00")
    made = controller.tick().backups
    assert [f.ref.id for f in list_backups(tmp_path) if f.ref] == made
    assert len(made) == 1
    assert controller.tick().backups == []
