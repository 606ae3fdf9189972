"""Two forced restores at once (two admins, or a retried request): they take
the store's write lock one after the other, so each replaces everything and
the store ends as one of them left it, its audit log whole and its version
past both; a restore without force that waited on a forced one is refused,
since the store it then finds is not empty; and a plain write that waited on
a restore takes the write lock after it (PostgreSQL: the version row, the
lock, was deleted and inserted again, and the waiting write went on without
it, with the restore's version as its own)."""

from __future__ import annotations

import threading
from pathlib import Path

from flagramp.core.errors import TargetNotEmpty
from flagramp.core.flags import Flag
from flagramp.store import SqlFlagStore
from flagramp.store.backups import RestoreReport, restore_backup
from tests.store.backup_fill import ALICE
from tests.store.test_backup_restore import _backup, _busy, source, target

__all__ = ["source", "target"]


def test_concurrent_restores_run_one_after_the_other(
    source: SqlFlagStore, target: SqlFlagStore, tmp_path: Path
) -> None:
    path = _backup(source, tmp_path)
    _busy(target, 4)
    start = threading.Barrier(4)
    reports: list[RestoreReport] = []
    failures: list[BaseException] = []

    def restore(force: bool) -> None:
        try:
            start.wait(timeout=10)
            reports.append(restore_backup(target, path, author=ALICE, force=force))
        except BaseException as exc:  # reported below, not lost in the thread
            failures.append(exc)

    written: list[int] = []

    def write() -> None:
        try:
            start.wait(timeout=10)
            target.create_flag(Flag("written_meanwhile"), ALICE)
            written.append(target.version())
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=restore, args=(f,)) for f in (True, True, False)]
    threads.append(threading.Thread(target=write))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert all(isinstance(f, TargetNotEmpty) for f in failures), failures
    assert len(reports) == 2 and len(failures) == 1
    versions = sorted([r.version for r in reports] + written)
    assert len(versions) == len(set(versions)) == 3, versions
    assert target.version() == versions[-1]
    assert reports[0].replaced is not None and reports[1].replaced is not None
    assert target.get_flag("busy") is None
    # Every version once: the two restores' rows and the write's (unless a
    # later restore replaced it).
    seen = [c.version for c in target.changes_since(0)]
    assert len(seen) == len(set(seen)), seen
    assert target.verify_audit().ok
