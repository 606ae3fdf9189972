"""`flagramp promote FROM TO`: shorthand for a built-in one-step promotion plan,
started as a run through the engine.

The command writes the minimal plan (`engine.promotion_shorthand`), starts it
with `RunService` (so it is a run: in `run list`, with `run log` and `run
show`), and drives that run with the controller's promotion driver while it
holds the controller lease: the store's backup of TO, the snapshot and copy,
the probes. Then the go/no-go, by the person promoting (role `promoter`):

- `--yes`: Go if every probe passed, else No-Go (for scripts);
- `--no-go`: No-Go: TO's snapshot is written back and the probes run again;
- neither: the run waits, `flagramp run approve RUN --role promoter --launch`
  (or `--pivot`) answers, and `flagramp controller` finishes it.

If another controller holds the lease, the command only starts the run and that
controller drives it. Exit status 1 after a No-Go.
"""

from __future__ import annotations

from typing import Annotated

import typer

from flagramp.cli.options import WhoOption, WhyOption, author, open_store
from flagramp.cli.output import console, fail, user_errors
from flagramp.cli.text import count
from flagramp.core.clock import SystemClock
from flagramp.core.plans import Answer, PlanInvalid
from flagramp.core.types import Json
from flagramp.engine.commands import Vote
from flagramp.engine.controller import Controller
from flagramp.engine.hook_loading import load_hooks
from flagramp.engine.lease import Lease
from flagramp.engine.promotion_shorthand import PROMOTER, shorthand_plan
from flagramp.engine.promotion_state import PromotionState, StepRecord
from flagramp.engine.run_state import RunStatus
from flagramp.engine.service import RunService
from flagramp.store.windows import WindowStore


def promote(
    source: Annotated[str, typer.Argument(metavar="FROM", help="Copy from here.")],
    target: Annotated[str, typer.Argument(metavar="TO", help="Into here.")],
    probe: Annotated[
        list[str] | None,
        typer.Option(metavar="URL", help="An HTTP probe: GET must answer 200."),
    ] = None,
    hook: Annotated[
        list[str] | None,
        typer.Option(
            metavar="NAME", help="A verification hook registered by FLAGRAMP_HOOKS."
        ),
    ] = None,
    yes: Annotated[
        bool,
        typer.Option("--yes", help="Go if the probes pass, else No-Go (scripts)."),
    ] = False,
    no_go: Annotated[
        bool, typer.Option("--no-go", help="No-Go: restore TO's snapshot.")
    ] = False,
    who: WhoOption = None,
    why: WhyOption = "",
) -> None:
    """Promote FROM's flags into TO as a run: backup, snapshot, copy, verify,
    go/no-go, and restore on No-Go."""
    if yes and no_go:
        fail("--yes and --no-go exclude each other")
    person = author(who, why).who
    with user_errors():
        store = open_store()
        clock = SystemClock()
        windows = WindowStore(store.engine)
        runs = RunService(store, windows, clock)
        text = shorthand_plan(
            source, target, person=person, urls=probe or (), hooks=hook or (), why=why
        )
        try:
            row = runs.start(text, person=person, file=f"promote {source} {target}")
        except PlanInvalid as exc:
            first = exc.problems[0] if exc.problems else "invalid"
            fail(f"cannot promote {source} to {target}: {first}")
        run = row.id
        console.print(f"run {run}: promoting {source} to {target}")
        controller = Controller(store, windows, clock, hooks=load_hooks())
        lease = Lease(store.engine)
        if not lease.try_acquire():
            console.print(
                f"another controller holds the lease: it drives run {run} "
                f"(`flagramp run show {run}`)"
            )
            return
        try:
            controller.settle(run)
            state = _state(runs, run)
            if state.status is RunStatus.AWAITING_GO_NO_GO and (yes or no_go):
                record = state.current
                assert record is not None
                passed = all(p.get("ok") is True for p in record.probes)
                answer = Answer.LAUNCH if yes and passed else Answer.PIVOT
                comment = (
                    "--no-go" if no_go else "--yes" + " (probes failed)" * (not passed)
                )
                runs.command(run, Vote(person, PROMOTER, answer, comment))
                controller.settle(run)
                state = _state(runs, run)
        finally:
            lease.release()
    _say(run, target, state)
    if state.status is RunStatus.ABORTED:
        raise typer.Exit(1)


def _state(runs: RunService, run: str) -> PromotionState:
    return PromotionState.from_json(runs.reader.load(run).state)


def _say(run: str, target: str, state: PromotionState) -> None:
    record = state.steps[0] if state.steps else None
    if record is None:
        console.print(f"run {run}: {state.status.value}")
        return
    if record.store_backup is not None:
        console.print(f"backup {record.store_backup} of {target}")
    if record.copied is not None:
        console.print(
            f"snapshot {record.snapshot} of {target}; copied from {record.source}: "
            f"{_count(record.copied, 'created', 'flag')} created, "
            f"{_count(record.copied, 'changed', 'flag')} changed, "
            f"{_count(record.copied, 'segments', 'segment')}"
        )
    _probes(record)
    console.print(record.outcome or "awaiting go/no-go")
    if record.restored is not None:
        console.print(
            f"restored {target} to snapshot {record.snapshot}: "
            f"{count(_int(record.restored, 'flags_changed'), 'flag')} and "
            f"{count(_int(record.restored, 'segments_changed'), 'segment')} "
            "changed back"
        )
    if state.status is RunStatus.AWAITING_GO_NO_GO:
        console.print(
            f"answer with `flagramp run approve {run} --role {PROMOTER} --launch` "
            "(or --pivot for No-Go); `flagramp controller` then finishes the run"
        )
    else:
        console.print(f"run {run}: {state.status.value}")


def _probes(record: StepRecord) -> None:
    for when, results in (
        ("verification", record.probes),
        ("after the restore", record.probes_after_restore),
    ):
        if results:
            console.print(f"{when}:")
        for result in results:
            mark = "ok" if result.get("ok") is True else "FAILED"
            console.print(f"  {mark}  {result.get('probe')}: {result.get('detail')}")


def _count(document: dict[str, Json], key: str, noun: str) -> str:
    value = document.get(key)
    return count(len(value) if isinstance(value, list) else 0, noun)


def _int(document: dict[str, Json], key: str) -> int:
    value = document.get(key)
    return value if isinstance(value, int) else 0
