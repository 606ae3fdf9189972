"""A backup directory holding what no backup is: a FIFO named like a backup
(opening it would wait for a writer forever, and with it `GET /api/v1/backups`
and every lookup by id) and a directory so named are listed as unreadable."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from flagramp.store import list_backups
from flagramp.store.backups import SUFFIX


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_or_a_directory_named_like_a_backup_is_unreadable(
    tmp_path: Path,
) -> None:
    os.mkfifo(tmp_path / f"flagramp-fifo{SUFFIX}")
    (tmp_path / f"flagramp-dir{SUFFIX}").mkdir()
    found: list[object] = []
    lister = threading.Thread(
        target=lambda: found.extend(list_backups(tmp_path)), daemon=True
    )
    lister.start()
    lister.join(5)
    assert not lister.is_alive(), "listing the directory waits on the FIFO"
    problems = {f.path.name: f.problem for f in found}  # type: ignore[attr-defined]
    assert set(problems) == {f"flagramp-fifo{SUFFIX}", f"flagramp-dir{SUFFIX}"}
    assert all(problems.values())
