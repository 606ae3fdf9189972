"""The outbox: flagramp's side commits whole, Flipper's rows follow, nothing is
half done, a retry is harmless, and an outside change is never overwritten.

Flipper's database "failing" is real: its gate table is renamed away (every
write to it then fails in the database) and renamed back.
"""

from __future__ import annotations

import pytest

from flagramp.core.errors import FlipperTablesCannotHold
from flagramp.core.flags import Flag, Percentage, Segment
from flagramp.core.flags import operations as ops
from flagramp.store import Author, FlipperTablesStore
from flagramp.store.flipper import OUTSIDE_ACTION
from flagramp.store.flipper_outbox_tables import flipper_outbox
from tests.store.flipper.conftest import FlipperSetup
from tests.store.flipper.tables import execute, gate_rows

CONTROLLER = Author("controller", "stage 2 of vaos-2026-11")


def pct(text: str) -> Percentage:
    return Percentage.parse(text)


def quarter(flag: Flag) -> Flag:
    return ops.set_percentage_of_actors(flag, pct("25"))


def break_gates(setup: FlipperSetup) -> None:
    execute(setup.flipper_url, "ALTER TABLE flipper_gates RENAME TO gates_away")


def mend_gates(setup: FlipperSetup) -> None:
    execute(setup.flipper_url, "ALTER TABLE gates_away RENAME TO flipper_gates")


def outbox_statuses(store: FlipperTablesStore) -> list[tuple[str, str]]:
    with store.engine.connect() as conn:
        query = flipper_outbox.select().order_by(flipper_outbox.c.id)
        return [(r.feature_key, r.status) for r in conn.execute(query)]


@pytest.fixture
def opened(flipper_setup: FlipperSetup) -> FlipperTablesStore:
    flipper_setup.tables("text")
    store = flipper_setup.open()
    store.create_flag(Flag("vaos_requests", percentage_of_actors=pct("5")), CONTROLLER)
    return store


def test_a_transition_and_its_flag_change_commit_even_when_flipper_is_down(
    flipper_setup: FlipperSetup, opened: FlipperTablesStore
) -> None:
    break_gates(flipper_setup)
    v0 = opened.version()
    with opened.unit_of_work(CONTROLLER) as unit:
        unit.change_flag("vaos_requests", quarter, action="percentage_of_actors")
        unit.record("production", "run", "vaos-2026-11", "advance", {"s": 1}, {"s": 2})
    # flagramp's side is whole: both audit rows, one version.
    assert [c.kind for c in opened.changes_since(v0)] == ["flag", "run"]
    # Reads serve flagramp's document although Flipper's rows are not written yet.
    assert opened.require_flag("vaos_requests").percentage_of_actors == pct("25")
    [waiting] = opened.pending()
    assert (waiting.key, waiting.version, waiting.attempts) == (
        "vaos_requests",
        v0 + 1,
        1,
    )
    assert waiting.last_error is not None and "gates" in waiting.last_error
    failed = opened.sync()
    assert list(failed.failed) == ["vaos_requests"]
    assert opened.pending()[0].attempts == 2
    mend_gates(flipper_setup)
    report = opened.sync()
    assert (report.applied, report.recorded) == (["vaos_requests"], [])
    assert gate_rows(flipper_setup.flipper_url)["vaos_requests"] == [
        ("percentage_of_actors", "25")
    ]
    assert opened.pending() == []
    assert opened.version() == v0 + 1  # applying uses no version


def test_writes_pending_for_one_feature_are_applied_as_the_newest(
    flipper_setup: FlipperSetup, opened: FlipperTablesStore
) -> None:
    break_gates(flipper_setup)
    opened.change_flag("vaos_requests", quarter, CONTROLLER)
    opened.change_flag("vaos_requests", lambda f: ops.add_actor(f, "uat"), CONTROLLER)
    assert [p.key for p in opened.pending()] == ["vaos_requests"] * 2
    mend_gates(flipper_setup)
    assert opened.sync().applied == ["vaos_requests"]
    assert sorted(gate_rows(flipper_setup.flipper_url)["vaos_requests"]) == [
        ("actors", "uat"),
        ("percentage_of_actors", "25"),
    ]
    assert outbox_statuses(opened)[-2:] == [("vaos_requests", "applied")] * 2


def test_a_retry_after_rows_were_written_but_not_marked_is_harmless(
    flipper_setup: FlipperSetup, opened: FlipperTablesStore
) -> None:
    break_gates(flipper_setup)
    opened.change_flag("vaos_requests", quarter, CONTROLLER)
    mend_gates(flipper_setup)
    # As if the applier wrote the rows and died before marking the outbox.
    execute(
        flipper_setup.flipper_url,
        "UPDATE flipper_gates SET value = '25' WHERE feature_key = 'vaos_requests'",
    )
    report = opened.sync()
    assert (report.applied, report.recorded) == (["vaos_requests"], [])
    assert gate_rows(flipper_setup.flipper_url)["vaos_requests"] == [
        ("percentage_of_actors", "25")
    ]
    assert opened.history("vaos_requests")[-1].actor == "controller"


def test_an_outside_change_while_a_write_is_pending_is_kept_not_overwritten(
    flipper_setup: FlipperSetup, opened: FlipperTablesStore
) -> None:
    break_gates(flipper_setup)
    opened.change_flag("vaos_requests", quarter, CONTROLLER)
    mend_gates(flipper_setup)
    # Someone in a Rails console turns the feature fully on meanwhile.
    execute(
        flipper_setup.flipper_url,
        "DELETE FROM flipper_gates WHERE feature_key = 'vaos_requests'",
        "INSERT INTO flipper_gates (feature_key, " + _key(flipper_setup) + ", value, "
        "created_at, updated_at) VALUES ('vaos_requests', 'boolean', 'true', "
        "'2026-12-01 10:00:00', '2026-12-01 10:00:00')",
    )
    report = opened.sync()
    assert report.recorded == ["vaos_requests"]
    assert gate_rows(flipper_setup.flipper_url)["vaos_requests"] == [
        ("boolean", "true")
    ]
    flag = opened.require_flag("vaos_requests")
    assert flag.boolean and flag.percentage_of_actors is None
    last = opened.history("vaos_requests")[-1]
    assert (last.actor, last.action) == ("flipper-tables", OUTSIDE_ACTION)
    assert last.before is not None and '"percentage_of_actors":"25"' in last.before
    assert last.after is not None and '"boolean":"true"' in last.after
    assert outbox_statuses(opened)[-1] == ("vaos_requests", "superseded")
    assert opened.pending() == []
    assert opened.sync().recorded == []
    assert opened.verify_audit().ok


def test_a_unit_that_fails_leaves_no_outbox_row(opened: FlipperTablesStore) -> None:
    rows = outbox_statuses(opened)
    with pytest.raises(RuntimeError), opened.unit_of_work(CONTROLLER) as unit:
        unit.change_flag("vaos_requests", quarter)
        raise RuntimeError("controller died")
    assert outbox_statuses(opened) == rows
    assert opened.require_flag("vaos_requests").percentage_of_actors == pct("5")


def test_a_flag_the_tables_cannot_hold_writes_nothing_anywhere(
    flipper_setup: FlipperSetup,
) -> None:
    flipper_setup.tables("string")  # Flipper 0.25: value varchar
    store = flipper_setup.open()
    store.put_segment(Segment.from_rules("oracle", ["ehr == oracle"]), CONTROLLER)
    store.create_flag(Flag("uae"), CONTROLLER)
    v0, rows = store.version(), outbox_statuses(store)
    with (
        pytest.raises(FlipperTablesCannotHold) as caught,
        store.unit_of_work(CONTROLLER) as unit,
    ):
        unit.record("production", "run", "r1", "advance", None, {"s": 1})
        unit.change_flag("uae", lambda f: ops.set_eligibility(f, "oracle"))
    assert str(caught.value) == (
        "flag 'uae' in 'production' cannot be kept in Flipper's tables: its "
        "eligibility segment 'oracle' must be written as an expression gate, and "
        "the value column of these tables is varchar (Flipper 0.25's migration), "
        "which Flipper itself refuses expressions on; tables migrated for "
        "Flipper 1.x (value text) can hold it"
    ).replace("varchar", _varchar(flipper_setup))
    assert (store.version(), outbox_statuses(store)) == (v0, rows)
    assert store.require_flag("uae").eligibility is None


def _key(setup: FlipperSetup) -> str:
    return "`key`" if setup.flipper_url.startswith("mysql") else '"key"'


def _varchar(setup: FlipperSetup) -> str:
    return "varchar(255)" if setup.flipper_url.startswith("mysql") else "varchar"
