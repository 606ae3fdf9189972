"""The controller's lease: one controller acts on a store at a time.

- PostgreSQL: `pg_try_advisory_lock` on a connection kept for the lease alone
  (one lock per schema). The server frees it when that connection ends, so a
  controller killed with SIGKILL loses it as soon as the kernel closes its
  socket.
- MariaDB/MySQL: `GET_LOCK(name, 0)` on a dedicated connection (one lock per
  database), freed the same way.
- SQLite: an exclusive `flock` on a file beside the database
  (`flagramp.db.controller.lock`); the kernel frees it when the process dies.
  An in-memory database is one process's alone: the lease is always granted.

`acquire` tries every `retry_seconds` (about a second), so a standby controller
takes over well within 10 s of the holder's death. Waiting is wall time: the
lease decides nothing about a run, it only keeps two processes from deciding at
once. The controller asks `is_held` before every tick: a lease lost with its
connection must stop it acting.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from flagramp.core.errors import EngineError

#: How often a waiting controller tries again (seconds).
RETRY_SECONDS = 1.0
LEASE_NAME = "flagramp.controller"
_MYSQL = ("mysql", "mariadb")
_PG_KEY = f"hashtext('{LEASE_NAME}.' || current_schema())"
_MY_NAME = f"CONCAT('{LEASE_NAME}.', SHA1(DATABASE()))"


class LeaseLost(EngineError):
    """The lease could not be taken in time, or was lost while held."""

    code = "lease_lost"


class Lease:
    """The right to act as the store's one controller."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._conn: Connection | None = None
        self._file: IO[bytes] | None = None
        self._held = False

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    def try_acquire(self) -> bool:
        """Take the lease if it is free; True if this process holds it now."""
        if self._held:
            return True
        if self.backend == "sqlite":
            self._held = self._lock_file()
            return self._held
        conn = self.engine.connect()
        try:
            got = conn.execute(text(self._acquire_sql())).scalar()
            conn.commit()  # keep no transaction open: the lock is the session's
        except SQLAlchemyError:
            conn.close()
            return False
        if got in (True, 1):
            self._conn, self._held = conn, True
        else:
            conn.close()
        return self._held

    def acquire(
        self,
        timeout: float | None = None,
        *,
        retry_seconds: float = RETRY_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Wait until the lease is ours, trying every `retry_seconds`; raises
        LeaseLost after `timeout` seconds (None: wait for ever)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.try_acquire():
            if deadline is not None and time.monotonic() >= deadline:
                raise LeaseLost("another controller holds the lease")
            sleep(retry_seconds)

    def is_held(self) -> bool:
        """Whether the lease is still ours (its connection still alive)."""
        if not self._held:
            return False
        if self._conn is None:
            return True  # a file lock lasts as long as this process
        try:
            held = self._conn.execute(text(self._check_sql())).scalar()
            self._conn.commit()
        except SQLAlchemyError:
            self._drop()
            return False
        if held not in (True, 1):
            self._drop()
            return False
        return True

    def release(self) -> None:
        """Give the lease up (a stopping controller lets a standby take over)."""
        if self._conn is not None:
            try:
                self._conn.execute(text(self._release_sql()))
                self._conn.commit()
            except SQLAlchemyError:
                pass  # the connection is gone, and the lock with it
        self._drop()

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()

    # --- per backend ---------------------------------------------------------

    def _acquire_sql(self) -> str:
        if self.backend == "postgresql":
            return f"SELECT pg_try_advisory_lock({_PG_KEY})"
        if self.backend in _MYSQL:
            return f"SELECT GET_LOCK({_MY_NAME}, 0)"
        raise EngineError(f"no controller lease on {self.backend}")

    def _check_sql(self) -> str:
        if self.backend == "postgresql":
            return (
                "SELECT count(*) = 1 FROM pg_locks WHERE locktype = 'advisory' "
                "AND granted AND pid = pg_backend_pid() "
                f"AND objid::bigint = (({_PG_KEY})::bigint & 4294967295)"
            )
        return f"SELECT IS_USED_LOCK({_MY_NAME}) = CONNECTION_ID()"

    def _release_sql(self) -> str:
        if self.backend == "postgresql":
            return f"SELECT pg_advisory_unlock({_PG_KEY})"
        return f"SELECT RELEASE_LOCK({_MY_NAME})"

    def _lock_file(self) -> bool:
        database = self.engine.url.database
        if not database or database == ":memory:":
            return True
        path = Path(f"{database}.controller.lock")
        handle = path.open("ab")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        handle.truncate(0)
        handle.write(f"{os.getpid()}\n".encode())
        handle.flush()
        self._file = handle
        return True

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(SQLAlchemyError):
                self._conn.close()
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
        self._conn, self._file, self._held = None, None, False
