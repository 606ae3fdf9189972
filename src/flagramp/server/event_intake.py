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
import contextlib
import queue
import threading
import time
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import Future
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

from flagramp.core.errors import FlagrampError
from flagramp.server.ports import BatchIntake, KeyedBatch, TakenBatch

#: Requests one transaction takes at most.
MAX_GROUP = 256
#: How long the writer waits for company when a batch arrives alone: a
#: group's own reads and commit cost as much as several requests, and 2 ms
#: is little next to a request's round trip.
GATHER_SECONDS = 0.002
#: Seconds without a batch after which the writer thread ends (the next
#: batch starts another).
IDLE_SECONDS = 30.0


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


class GroupedIntake:
    """Takes batches through one writer thread, many requests per transaction.

    Each group's token check and take run inside `per_group()` (the server
    passes `GroupVersion.held`: one store version read for both)."""

    def __init__(
        self,
        intake: BatchIntake,
        usable: UsableTokens,
        *,
        per_group: Callable[[], AbstractContextManager[object]] = nullcontext,
        max_group: int = MAX_GROUP,
        gather_seconds: float = GATHER_SECONDS,
        idle_seconds: float = IDLE_SECONDS,
    ) -> None:
        self.intake = intake
        self.usable = usable
        self.per_group = per_group
        self.max_group = max_group
        self.gather_seconds = gather_seconds
        self.idle_seconds = idle_seconds
        self._waiting: queue.SimpleQueue[_Waiting | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    async def take(self, sent: SentBatch) -> TakenBatch:
        """The batch taken with whatever else is waiting; raises what the
        intake raised for the group, or `TokenRevoked`."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[TakenBatch] = loop.create_future()
        self._put(sent, _LoopReply(loop, future))
        return await future

    def submit(self, sent: SentBatch) -> Future[TakenBatch]:
        """Queue the batch for the writer; the future is done once its group
        committed (or failed)."""
        future: Future[TakenBatch] = Future()
        self._put(sent, future)
        return future

    def close(self, timeout: float = 10.0) -> None:
        """Let the writer finish what is queued, then stop it."""
        with self._lock:
            thread, self._thread = self._thread, None
            if thread is not None:
                self._waiting.put(None)
        if thread is not None:
            thread.join(timeout)

    def _put(self, sent: SentBatch, reply: _Reply) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="flagramp events writer", daemon=True
                )
                self._thread.start()
            self._waiting.put((sent, reply))

    def _run(self) -> None:
        while True:
            try:
                first = self._waiting.get(timeout=self.idle_seconds)
            except queue.Empty:
                with self._lock:  # nothing can be queued while this decides
                    if self._waiting.empty():
                        if self._thread is threading.current_thread():
                            self._thread = None
                        return
                continue
            if first is None:
                return
            if self.gather_seconds and self._waiting.empty():
                time.sleep(self.gather_seconds)
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
            _deliver(self._take(group))
            if stop:
                return

    def _take(self, group: Sequence[_Waiting]) -> list[tuple[_Reply, _Outcome]]:
        try:
            with self.per_group():
                ids = {s.token_id for s, _ in group if s.token_id is not None}
                usable = set(self.usable(ids)) if ids else set()
                kept = [
                    (sent, reply)
                    for sent, reply in group
                    if sent.token_id is None or sent.token_id in usable
                ]
                keyed = [s.keyed for s, _ in kept]
                taken = self.intake.take_many(keyed) if kept else []
        except Exception as exc:  # every waiting request gets the group's error
            return [(reply, exc) for _, reply in group]
        answers: dict[int, _Outcome] = {
            id(reply): one for (_, reply), one in zip(kept, taken, strict=True)
        }
        revoked = TokenRevoked("the token was revoked or has expired")
        return [(reply, answers.get(id(reply), revoked)) for _, reply in group]


class _LoopReply:
    """A request's future on its event loop (set from the loop's thread)."""

    __slots__ = ("future", "loop")

    def __init__(
        self, loop: asyncio.AbstractEventLoop, future: asyncio.Future[TakenBatch]
    ) -> None:
        self.loop, self.future = loop, future


_Reply = _LoopReply | Future[TakenBatch]
_Outcome = TakenBatch | Exception
_Waiting = tuple[SentBatch, _Reply]


def _deliver(outcomes: Sequence[tuple[_Reply, _Outcome]]) -> None:
    """Each reply its outcome: one wake-up per event loop for the whole group
    (a wake-up per request was a good part of a small request's cost)."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_LoopReply, _Outcome]]] = {}
    for reply, outcome in outcomes:
        if isinstance(reply, _LoopReply):
            by_loop.setdefault(reply.loop, []).append((reply, outcome))
        elif reply.set_running_or_notify_cancel():
            _settle(reply, outcome)
    for loop, replies in by_loop.items():
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(_settle_all, replies)


def _settle_all(replies: Sequence[tuple[_LoopReply, _Outcome]]) -> None:
    for reply, outcome in replies:
        if not reply.future.done():  # a request cancelled meanwhile
            _settle(reply.future, outcome)


def _settle(
    future: asyncio.Future[TakenBatch] | Future[TakenBatch], outcome: _Outcome
) -> None:
    if isinstance(outcome, Exception):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
