"""A process killed (SIGKILL) at a random instant while it ingests, then every
batch sent again: the stored windows are exactly those of an uninterrupted run."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flagramp.stats.ingest import BatchIngest, WindowIngest
from flagramp.store.windows import WindowStore
from tests.store.ingest_stream import NOW, RUN, SPECS, batches
from tests.store.test_ingest_scopes import assert_same_windows

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("seed", [1, 2])
def test_a_killed_ingest_resumes_to_the_uninterrupted_windows(
    database_url: str, seed: int
) -> None:
    WindowStore.open(database_url).engine.dispose()  # migrated before the child
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.store.ingest_stream", database_url],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert child.stdout is not None
    rng = random.Random(seed)
    landed = [child.stdout.readline().strip()]
    gaps = []
    for _ in range(rng.randint(1, 4)):
        started = time.perf_counter()
        landed.append(child.stdout.readline().strip())
        gaps.append(time.perf_counter() - started)
    # Somewhere in the next batch: aggregating it, or inside its transaction. The
    # shortest gap, since a loaded machine can stall one read: at least three
    # batches are left, and none takes less than that.
    time.sleep(rng.uniform(0.0, min(gaps)))
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    store = WindowStore.open(database_url)
    try:
        plan = batches()
        # The sender does not know what landed: it sends everything again.
        pipe = BatchIngest(RUN, "f", SPECS)
        duplicates = [
            store.ingest(pipe, b, received_at=NOW).duplicate_batch for b in plan
        ]
        # What landed before the kill, and maybe the batch in flight, whole.
        assert all(duplicates[: len(landed)]), (landed, duplicates)
        assert sum(duplicates) in (len(landed), len(landed) + 1), (landed, duplicates)
        whole = WindowIngest(RUN, "f", SPECS)
        for batch in plan:
            whole.add_batch(batch, received_at=NOW)
        assert_same_windows(store.windows(RUN, "f"), whole.windows())
        state = store.scope_state(RUN, "f")
        assert state is not None and state.actors == whole.snapshot().actors
    finally:
        store.engine.dispose()
