"""One promotion step against the store: snapshot, copy, verify, decide, restore.

`run_step` runs one step directly, outside any run (a tool or test with no
run); `flagramp promote` and plan promotions are runs, which the controller's
`engine.promotion_driver` drives with `snapshot_and_copy` below. The writes
go through units of work, so every change is audited:

1. the application's backup hook, when the step backs up (`backup`), recorded;
2. one unit of work: a snapshot of the target's flags and segments
   (`store.environment_snapshots`), then the source's flag configuration
   copied into the target (`promotion.copy_writes`), each change audited;
3. the step's verification probes (`engine.probes`);
4. the go/no-go (`answers` gets the probe results and returns the answers);
5. on No-Go with `on_no_go: restore`: the snapshot written back as new audited
   changes, the application's restore hook, and the probes again (seed 004's
   rollback verification).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx

from flagramp.core.flags import Flag
from flagramp.core.plans import Answer, PromotionStep
from flagramp.engine.probes import HookRegistry, ProbeResult, run_probes
from flagramp.engine.promotion import CopyWrites, StepOutcome, copy_writes, step_outcome
from flagramp.store import Author, SqlFlagStore, SqlUnitOfWork
from flagramp.store.backup_refs import BackupRef
from flagramp.store.environment_snapshots import (
    EnvironmentRestore,
    snapshot_environment,
    write_back_snapshot,
)

#: The hook names the application's own backup and restore are registered under.
BACKUP_HOOK = "backup"
RESTORE_HOOK = "restore"


@dataclass(frozen=True, slots=True)
class StepReport:
    """What one promotion step did, in order."""

    source: str
    target: str
    snapshot: BackupRef
    copied: CopyWrites
    probes: tuple[ProbeResult, ...]
    answers: tuple[Answer, ...]
    outcome: StepOutcome
    backup: ProbeResult | None = None
    restore: EnvironmentRestore | None = None
    restore_hook: ProbeResult | None = None
    probes_after_restore: tuple[ProbeResult, ...] = ()


def run_step(
    store: SqlFlagStore,
    step: PromotionStep,
    source: str,
    *,
    hooks: HookRegistry,
    client: httpx.Client,
    author: Author,
    answers: Callable[[tuple[ProbeResult, ...]], Sequence[Answer]],
    now: Callable[[], dt.datetime] | None = None,
) -> StepReport:
    """Promote `source`'s flags into `step.environment` (see the module doc)."""
    clock = now or store.clock.now
    target = step.environment
    backup = None
    if step.takes_backup and BACKUP_HOOK in hooks:
        backup = hooks.run(BACKUP_HOOK, {"environment": target}, clock())
    with store.unit_of_work(author) as unit:
        snapshot, writes = snapshot_and_copy(unit, source, target, clock())
    probes = run_probes(step.verify, hooks, client, clock)
    given = tuple(answers(probes))
    outcome = step_outcome(step, probes, given)
    report = StepReport(
        source, target, snapshot, writes, probes, given, outcome, backup
    )
    if outcome is not StepOutcome.NO_GO or step.on_no_go != "restore":
        return report
    why = Author(author.who, f"No-Go on promoting {source} to {target}: restore")
    with store.unit_of_work(why) as unit:
        restored = write_back_snapshot(unit, snapshot.id)
    hook = None
    if RESTORE_HOOK in hooks:
        hook = hooks.run(RESTORE_HOOK, {"environment": target}, clock())
    again = run_probes(step.verify, hooks, client, clock)
    return StepReport(
        source,
        target,
        snapshot,
        writes,
        probes,
        given,
        outcome,
        backup,
        restored,
        hook,
        again,
    )


def snapshot_and_copy(
    unit: SqlUnitOfWork, source: str, target: str, now: dt.datetime
) -> tuple[BackupRef, CopyWrites]:
    """In `unit`: a snapshot of `target`, then `source`'s flag configuration
    (and the segments its flags use) copied into it, each change audited."""
    label = f"before promoting {source} to {target}"
    snapshot = snapshot_environment(unit, target, label, now=now)
    writes = copy_writes(
        unit.list_flags(source),
        unit.segments(source),
        unit.list_flags(target),
        unit.segments(target),
    )
    for segment in writes.segments:
        unit.put_segment(segment, target)
    for flag in writes.created:
        unit.create_flag(flag, target)
    for flag in writes.changed:
        unit.change_flag(flag.key, _becomes(flag), target, "promote")
    return snapshot, writes


def _becomes(flag: Flag) -> Callable[[Flag], Flag]:
    def change(_: Flag) -> Flag:
        return flag

    return change
