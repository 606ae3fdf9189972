"""Ingest with the scope's state in the store: one transaction per batch.

On SQLite and PostgreSQL: resume is exact at any batch (property), a failure in
the last statement leaves nothing, duplicates and closed scopes write nothing,
batch keys are forgotten only when a redelivery can count nothing, and concurrent
writers of one scope count each actor once.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flagramp.core.errors import StoreError
from flagramp.core.events import (
    BusinessEvent,
    EventBatch,
    Exposure,
    RequestOutcome,
    Variant,
)
from flagramp.core.metric_kinds import MetricKind
from flagramp.stats.ingest import BatchIngest, MetricSpec, WindowIngest
from flagramp.stats.windows import Lane, Window, merge_all
from flagramp.store.database import current_revision, head_revision, open_engine
from flagramp.store.ingest_scopes import ScopeClosed
from flagramp.store.windows import WindowStore

T0 = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
NOW = T0 + dt.timedelta(minutes=10)
SPECS = (
    MetricSpec("error_rate", MetricKind.RATIO, ("request_failed", "request")),
    MetricSpec("failing_users", MetricKind.SHARE_OF_USERS, ("request_failed",)),
    MetricSpec("users", MetricKind.UNIQUE_ACTORS, ("request",)),
    MetricSpec("senders", MetricKind.SHARE_OF_USERS, ("message_sent",)),
    MetricSpec("p90", MetricKind.QUANTILE, ("request",), "latency_ms"),
)
_runs = itertools.count()


@pytest.fixture
def store(database_url: str) -> Iterator[WindowStore]:
    store = WindowStore.open(database_url)
    yield store
    store.engine.dispose()


def pipe_for(run: str, **caps: int) -> BatchIngest:
    """A fresh BatchIngest: what a restarted process starts with."""
    return BatchIngest(
        run,
        "f",
        SPECS,
        exact_cap=caps.get("exact_cap", 3),
        fingerprint_cap=caps.get("fingerprint_cap", 2),
        breakdown_cap=caps.get("breakdown_cap", 3),
    )


def reference(run: str) -> WindowIngest:
    return WindowIngest(
        run, "f", SPECS, exact_cap=3, fingerprint_cap=2, breakdown_cap=3
    )


def at(minute: int, second: float = 0.0) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minute, seconds=second)


def by_key(
    windows: tuple[Window, ...] | list[Window],
) -> dict[tuple[int, Lane], Window]:
    out: dict[tuple[int, Lane], Window] = {}
    for w in windows:
        k = (w.key.start, w.key.lane)
        out[k] = w if k not in out else out[k].merge(w)
    return out


def assert_same_windows(got: tuple[Window, ...], expected: tuple[Window, ...]) -> None:
    a, b = by_key(got), by_key(expected)
    assert a.keys() == b.keys()
    for k, w in b.items():
        assert a[k].same_as(w), k


def test_the_migration_creates_the_scope_tables(database_url: str) -> None:
    engine = open_engine(database_url)
    assert current_revision(engine) == head_revision()
    tables = set(sa.inspect(engine).get_table_names())
    assert {"ingest_scopes", "ingest_actors", "ingest_batch_keys"} <= tables
    engine.dispose()


def test_an_actor_exposed_before_and_after_a_restart_counts_once(
    store: WindowStore,
) -> None:
    """The issue's case, through the store: a new process for the second batch."""
    for minute in (0, 1):
        batch = EventBatch(
            f"b{minute}",
            (
                Exposure(at(minute), "a", "f", Variant.ON),
                RequestOutcome(at(minute, 1), "a", "/x", 500, 10.0),
            ),
        )
        counts = store.ingest(pipe_for("run"), batch, received_at=NOW)
        assert (counts.exposures, counts.outcomes) == (1, 1)
    total = merge_all(store.windows("run", "f"))
    assert total.exposed.total_numerator == 1
    assert total.metrics["failing_users"].sums.total_numerator == 1
    assert total.metrics["error_rate"].sums.total_numerator == 2
    assert store.scope_actors("run", "f") == 1


ACTORS = [f"u{i}" for i in range(6)]
_actor = st.sampled_from(ACTORS)
_minute = st.integers(0, 3)
_second = st.floats(0, 59.5)
_events = st.one_of(
    st.builds(
        lambda a, m, s, on: Exposure(
            at(m, s), a, "f", Variant.ON if on else Variant.OFF
        ),
        _actor,
        _minute,
        _second,
        st.booleans(),
    ),
    st.builds(
        lambda a, m, s, status, fp: RequestOutcome(
            at(m, s),
            a,
            f"/r{fp % 4}",
            status,
            3.0 * fp,
            error=f"E{fp}" if status >= 500 else None,
        ),
        _actor,
        _minute,
        _second,
        st.sampled_from([200, 200, 500, 503]),
        st.integers(0, 6),
    ),
    st.builds(lambda a, m: BusinessEvent(at(m), a, "message_sent"), _actor, _minute),
)
_batches = st.lists(st.lists(_events, max_size=12), min_size=1, max_size=6).map(
    lambda parts: [EventBatch(f"b{i}", tuple(p)) for i, p in enumerate(parts)]
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(_batches, st.lists(st.booleans(), min_size=6, max_size=6))
def test_restarts_at_any_batch_give_the_windows_of_an_uninterrupted_run(
    store: WindowStore, plan: list[EventBatch], restarts: list[bool]
) -> None:
    run = f"run-{next(_runs)}/p1/s1/a1"
    whole = reference(run)
    for batch in plan:
        whole.add_batch(batch, received_at=NOW)
    pipe = pipe_for(run)
    for batch, restart in zip(plan, restarts, strict=False):
        assert not store.ingest(pipe, batch, received_at=NOW).duplicate_batch
        if restart:
            # A new process: nothing carried over but the store. The sender
            # redelivers the batch whose answer it may not have seen.
            pipe = pipe_for(run)
            assert store.ingest(pipe, batch, received_at=NOW).duplicate_batch
    assert_same_windows(store.windows(run, "f"), whole.windows())
    state = store.scope_state(run, "f")
    assert state is not None
    expected = whole.snapshot()
    assert state.actors == expected.actors
    assert state.marks == expected.marks
    assert set(state.batch_keys) == set(expected.batch_keys)


def _fail_on_batch_key(store: WindowStore, key: str) -> None:
    """A trigger that aborts the transaction's last statement, for `key` only."""
    dialect = store.engine.dialect.name
    with store.engine.begin() as conn:
        if dialect == "sqlite":
            conn.execute(
                sa.text(
                    "CREATE TRIGGER fail_key BEFORE INSERT ON ingest_batch_keys "
                    f"WHEN NEW.batch_key = '{key}' "
                    "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
                )
            )
            return
        if dialect in ("mysql", "mariadb"):
            conn.execute(
                sa.text(
                    "CREATE TRIGGER fail_key BEFORE INSERT ON ingest_batch_keys "
                    f"FOR EACH ROW BEGIN IF NEW.batch_key = '{key}' THEN "
                    "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'injected failure'; "
                    "END IF; END"
                )
            )
            return
        conn.execute(
            sa.text(
                "CREATE FUNCTION fail_key() RETURNS trigger AS $$ BEGIN "
                f"IF NEW.batch_key = '{key}' THEN "
                "RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END "
                "$$ LANGUAGE plpgsql"
            )
        )
        conn.execute(
            sa.text(
                "CREATE TRIGGER fail_key BEFORE INSERT ON ingest_batch_keys "
                "FOR EACH ROW EXECUTE FUNCTION fail_key()"
            )
        )


def _drop_failure(store: WindowStore) -> None:
    with store.engine.begin() as conn:
        if store.engine.dialect.name != "postgresql":
            conn.execute(sa.text("DROP TRIGGER fail_key"))
        else:
            conn.execute(sa.text("DROP TRIGGER fail_key ON ingest_batch_keys"))
            conn.execute(sa.text("DROP FUNCTION fail_key()"))


def _scope_rows(store: WindowStore) -> tuple[int, int, int]:
    with store.engine.connect() as conn:
        return (
            int(
                conn.execute(
                    sa.text("SELECT count(*) FROM metric_windows")
                ).scalar_one()
            ),
            int(
                conn.execute(sa.text("SELECT count(*) FROM ingest_actors")).scalar_one()
            ),
            int(
                conn.execute(
                    sa.text("SELECT max(batches) FROM ingest_scopes")
                ).scalar_one()
            ),
        )


def test_a_failure_in_the_last_step_leaves_nothing_and_the_retry_counts_once(
    store: WindowStore,
) -> None:
    first = EventBatch("b0", (Exposure(at(0), "a", "f", Variant.ON),))
    store.ingest(pipe_for("run"), first, received_at=NOW)
    before = (_scope_rows(store), store.scope_state("run", "f"))
    batch = EventBatch(
        "b1",
        (
            Exposure(at(1), "b", "f", Variant.ON),
            Exposure(at(1), "a", "f", Variant.OFF),
            RequestOutcome(at(1, 2), "b", "/x", 500, 10.0, error="E /x"),
        ),
    )
    _fail_on_batch_key(store, "b1")
    with pytest.raises(StoreError, match="nothing was written"):
        store.ingest(pipe_for("run"), batch, received_at=NOW)
    # Windows, actor states (a still on, b unknown), counter: all as before.
    assert (_scope_rows(store), store.scope_state("run", "f")) == before
    _drop_failure(store)
    counts = store.ingest(pipe_for("run"), batch, received_at=NOW)
    assert not counts.duplicate_batch and counts.exposures == 2
    assert store.ingest(pipe_for("run"), batch, received_at=NOW).duplicate_batch
    on = merge_all(store.windows("run", "f", lane=Lane.ON))
    assert on.exposed.total_numerator == 2
    assert on.metrics["error_rate"].sums.total_numerator == 1
    state = store.scope_state("run", "f")
    assert state is not None and len(state.actors) == 2


def test_a_duplicate_writes_nothing(store: WindowStore) -> None:
    batch = EventBatch("b0", (Exposure(at(0), "a", "f", Variant.ON),))
    store.ingest(pipe_for("run"), batch, received_at=NOW)
    rows = _scope_rows(store)
    assert store.ingest(pipe_for("run"), batch, received_at=NOW).duplicate_batch
    assert _scope_rows(store) == rows


def test_a_closed_scope_refuses_batches_and_keeps_its_windows(
    store: WindowStore,
) -> None:
    store.open_scope("run", "f")
    store.open_scope("run", "f")  # idempotent
    store.ingest(
        pipe_for("run"),
        EventBatch("b0", (Exposure(at(0), "a", "f", Variant.ON),)),
        received_at=NOW,
    )
    assert store.close_scope("run", "f")
    assert not store.close_scope("run", "nope")
    assert store.scope_actors("run", "f") == 0
    state = store.scope_state("run", "f")
    assert state is not None and not state.batch_keys
    with pytest.raises(ScopeClosed, match="closed"):
        store.ingest(
            pipe_for("run"),
            EventBatch("b1", (Exposure(at(1), "b", "f", Variant.ON),)),
            received_at=NOW,
        )
    assert len(store.windows("run", "f")) == 1
    # The next stage attempt is another scope.
    store.ingest(
        pipe_for("run/a2"),
        EventBatch("b1", (Exposure(at(1), "b", "f", Variant.ON),)),
        received_at=NOW,
    )
    assert store.scope_actors("run/a2", "f") == 1


def test_batch_keys_are_forgotten_only_when_a_redelivery_counts_nothing(
    store: WindowStore,
) -> None:
    batch = EventBatch(
        "b0",
        (
            Exposure(at(0), "a", "f", Variant.ON),
            RequestOutcome(at(0, 30), "a", "/x", 500, 1.0),
        ),
    )
    sent = at(1)
    store.ingest(pipe_for("run"), batch, received_at=sent)
    assert store.forget_batch_keys(at(60)) == 0
    assert store.ingest(pipe_for("run"), batch, received_at=at(60)).duplicate_batch
    # An hour after the batch's newest event, none of its events would count.
    gone = at(61)
    assert store.forget_batch_keys(gone) == 1
    counts = store.ingest(pipe_for("run"), batch, received_at=gone)
    assert not counts.duplicate_batch
    assert (counts.exposures, counts.outcomes, counts.out_of_window) == (0, 0, 2)
    total = merge_all(store.windows("run", "f"))
    assert total.metrics["error_rate"].sums.total_denominator == 1


@pytest.mark.parametrize(
    ("key", "environment", "message"),
    [("k" * 256, "production", "over 255"), ("b", "staging", "environment")],
)
def test_bad_batches_are_refused_with_nothing_written(
    store: WindowStore, key: str, environment: str, message: str
) -> None:
    store.open_scope("run", "f", "production")
    pipe = BatchIngest("run", "f", SPECS, environment=environment)
    batch = EventBatch(key, (Exposure(at(0), "a", "f", Variant.ON, environment),))
    with pytest.raises(StoreError, match=message):
        store.ingest(pipe, batch, received_at=NOW)
    assert store.scope_actors("run", "f") == 0
    assert store.windows("run", "f") == ()


def test_concurrent_writers_of_one_scope_count_each_actor_once(
    store: WindowStore,
) -> None:
    # Every batch exposes actors that other batches (other threads) expose too.
    batches = [
        EventBatch(
            f"b{i}",
            tuple(
                e
                for a in (f"u{i}", f"u{(i + 1) % 12}", f"u{(i + 5) % 12}")
                for e in (
                    Exposure(at(0), a, "f", Variant.ON),
                    RequestOutcome(at(0, 1), a, "/x", 500, 10.0),
                )
            ),
        )
        for i in range(12)
    ]
    errors: list[BaseException] = []

    def write(chunk: list[EventBatch]) -> None:
        try:
            for batch in chunk:
                store.ingest(pipe_for("run"), batch, received_at=NOW)
                store.ingest(pipe_for("run"), batch, received_at=NOW)  # redelivery
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(batches[i::3],)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    (window,) = store.windows("run", "f")
    assert window.exposed.total_numerator == 12
    assert window.exposed.total_denominator == 36
    assert window.metrics["failing_users"].sums.total_numerator == 12
    assert window.metrics["error_rate"].sums.total_numerator == 36
    assert store.scope_actors("run", "f") == 12
