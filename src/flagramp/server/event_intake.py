"""The events route's writer: the batches of concurrent requests in one commit.

A transaction per `POST /api/v1/events` made the database's commit the
server's pace (and SQLite's one write lock a queue of threads). Requests now
hand their parsed batch to one writer thread per process, which takes every
batch waiting (at most `max_group`) and gives them to the intake together
(`BatchIntake.take_many`: one transaction, each batch as if alone, in order).
A request is answered only after its group committed, so a 200 still means
its events are stored; when a group fails, each of its requests fails with
that error and nothing of any of them is written (a retry with the same batch
key counts once).

Tokens: the route accepts a token it verified recently (`TokenCache`), and
the writer checks, once per group and just before the transaction, that every
sender's token is still usable: a batch whose token was revoked since is
refused (`TokenRevoked`) and writes nothing. So a revocation stops a sender's
events as at once as it did when every request read its token.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import Future
from dataclasses import dataclass

from flagramp.core.errors import FlagrampError
from flagramp.server.ports import BatchIntake, KeyedBatch, TakenBatch

#: Requests one transaction takes at most.
MAX_GROUP = 256


class TokenRevoked(FlagrampError):
    """The sender's token was revoked (or expired) after the route checked it."""

    code = "unauthorized"


@dataclass(frozen=True, slots=True)
class SentBatch:
    """A request's batch and the token that sent it (None: no token)."""

    keyed: KeyedBatch
    token_id: str | None


#: The ids among those given of tokens still usable now.
UsableTokens = Callable[[Collection[str]], Collection[str]]

_Waiting = tuple[SentBatch, "Future[TakenBatch]"]


class GroupedIntake:
    """Takes batches through one writer thread, many requests per transaction."""

    def __init__(
        self, intake: BatchIntake, usable: UsableTokens, *, max_group: int = MAX_GROUP
    ) -> None:
        self.intake = intake
        self.usable = usable
        self.max_group = max_group
        self._waiting: queue.SimpleQueue[_Waiting | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.groups = 0  # transactions so far, for tests and the benchmark

    async def take(self, sent: SentBatch) -> TakenBatch:
        """The batch taken with whatever else is waiting; raises what the
        intake raised for the group, or `TokenRevoked`."""
        return await asyncio.wrap_future(self.submit(sent))

    def submit(self, sent: SentBatch) -> Future[TakenBatch]:
        """Queue the batch for the writer; the future is done once its group
        committed (or failed)."""
        future: Future[TakenBatch] = Future()
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="flagramp events writer", daemon=True
                )
                self._thread.start()
            self._waiting.put((sent, future))
        return future

    def close(self, timeout: float = 10.0) -> None:
        """Let the writer finish what is queued, then stop it."""
        with self._lock:
            thread, self._thread = self._thread, None
            if thread is not None:
                self._waiting.put(None)
        if thread is not None:
            thread.join(timeout)

    def _run(self) -> None:
        while (first := self._waiting.get()) is not None:
            group = [first]
            stop = False
            while len(group) < self.max_group:
                try:
                    more = self._waiting.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                group.append(more)
            self._take(group)
            if stop:
                return

    def _take(self, group: Sequence[_Waiting]) -> None:
        live = [
            (sent, future)
            for sent, future in group
            if future.set_running_or_notify_cancel()
        ]
        try:
            ids = {s.token_id for s, _ in live if s.token_id is not None}
            usable = set(self.usable(ids)) if ids else set()
            kept: list[_Waiting] = []
            for sent, future in live:
                if sent.token_id is not None and sent.token_id not in usable:
                    future.set_exception(
                        TokenRevoked("the token was revoked or has expired")
                    )
                else:
                    kept.append((sent, future))
            taken = self.intake.take_many([s.keyed for s, _ in kept]) if kept else []
            self.groups += 1
        except Exception as exc:  # every waiting request gets the group's error
            for _, future in live:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), one in zip(kept, taken, strict=True):
            future.set_result(one)
