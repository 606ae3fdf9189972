"""An evaluation on Flipper's tables issues no query: a client reads the flags into
a snapshot on change (list_flags, segments), and then checks from memory."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from flagramp.core.clock import VirtualClock
from flagramp.core.flags import Evaluator, Flag, Percentage, Segment
from flagramp.store import Author, FlipperTablesStore
from tests.store.flipper.conftest import FlipperSetup
from tests.store.flipper.tables import execute

ALICE = Author("alice@va.gov")


@contextmanager
def statements(*engines: sa.Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def note(_c: object, _cur: object, sql: str, *_: object) -> None:
        seen.append(sql)

    for engine in engines:
        sa.event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        for engine in engines:
            sa.event.remove(engine, "before_cursor_execute", note)


def test_checks_read_nothing_and_a_change_reaches_the_next_snapshot(
    flipper_setup: FlipperSetup,
) -> None:
    flipper_setup.tables("text")
    store: FlipperTablesStore = flipper_setup.open()
    store.put_segment(Segment.from_rules("oracle", ["ehr == oracle"]), ALICE)
    quarter = Percentage.parse("25")
    store.put_flags(
        [
            Flag("kill_switch", boolean=True),
            Flag("vaos", percentage_of_actors=quarter, eligibility="oracle"),
        ],
        ALICE,
    )
    evaluator = Evaluator(store.segments(), VirtualClock(), random.Random(1).random)
    snapshot = {f.key: evaluator.compile(f) for f in store.list_flags()}
    engines = (store.engine, store.flipper.engine)
    with statements(*engines) as seen:
        answers = [
            snapshot["vaos"].is_enabled(f"User;{i}", {"ehr": "oracle"})
            for i in range(10_000)
        ]
    assert seen == []
    assert 2_300 < sum(answers) < 2_700  # about 25 % of the eligible
    execute(
        flipper_setup.flipper_url,
        "DELETE FROM flipper_gates WHERE feature_key = 'kill_switch'",
    )
    assert store.sync().recorded == ["kill_switch"]
    fresh = {f.key: evaluator.compile(f) for f in store.list_flags()}
    assert snapshot["kill_switch"].is_enabled("User;1")
    assert not fresh["kill_switch"].is_enabled("User;1")
