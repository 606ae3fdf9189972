"""Build a `ReleaseReport` from what the store holds for a run.

`collect(record, windows, as_of=...)` reads the plan the run adopted, the run's
log and incidents (`RunRecord`) and the run's windows (`WindowSource`, i.e.
`store.WindowStore`). Nothing after `as_of` is used, so a report of a past
moment is reproducible. The renderers take the result and read nothing else.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from flagramp.core.plans import (
    Plan,
    RolloutPhase,
    Stage,
    treatment_percentage,
)
from flagramp.reports.chart_data import chart_data
from flagramp.reports.context import (
    ReportContext,
    Scopes,
    WindowSource,
    json_time,
    minute_after,
    minute_of,
    read_plan,
)
from flagramp.reports.gates import entry_scope, gate_report, stage_scope
from flagramp.reports.golive import go_live_report
from flagramp.reports.incidents import incident_reports
from flagramp.reports.model import (
    Given,
    Header,
    LinkRow,
    MilestoneRow,
    Pending,
    PhaseReport,
    PrerequisiteRow,
    ReleaseReport,
    RoleRow,
    StagePlanning,
    StageReport,
)
from flagramp.reports.promotion import promotion_report
from flagramp.reports.run_log import (
    MILESTONE_MET,
    PREREQUISITE_SIGNED,
    WENT_LIVE,
    of_kind,
    stage_periods,
    text_of,
)
from flagramp.reports.run_record import RunEvent, RunRecord
from flagramp.reports.stage_results import stage_results

_MINUTES_PER_DAY = 1440


def collect(
    record: RunRecord,
    windows: WindowSource,
    *,
    as_of: dt.datetime,
    scopes: Scopes | None = None,
) -> ReleaseReport:
    """The report of `record` as of `as_of`; raises ReportError if the plan
    the run adopted does not load. `scopes` names the ingest scopes the run's
    windows are stored under (default: the run's id)."""
    plan = read_plan(record)
    ctx = ReportContext(record, plan, windows, as_of, scopes or Scopes())
    _plan_reads(ctx)
    phases = tuple(_phase(ctx, index, phase) for index, phase in plan.rollout_phases())
    go_live = go_live_report(ctx, plan.go_live) if plan.go_live else None
    return ReleaseReport(
        header=_header(ctx),
        roles=tuple(
            RoleRow(
                name,
                role.title or name,
                role.people,
                tuple(s.value for s in role.signs),
                role.on_call,
            )
            for name, role in plan.roles.items()
        ),
        prerequisites=_prerequisites(ctx),
        phases=phases,
        incidents=incident_reports(ctx),
        milestones=_milestones(ctx),
        go_live=go_live,
        risks=plan.risks,
        charts=replace(
            chart_data(ctx),
            splits=tuple(s for c in go_live.checkpoints for s in c.splits)
            if go_live
            else (),
        ),
        promotion=promotion_report(ctx, plan.promotion) if plan.promotion else None,
    )


def _plan_reads(ctx: ReportContext) -> None:
    """Tell the context every span it will read, so each flag is read once."""
    for period in stage_periods(ctx.events):
        phase = ctx.plan.phases[period.phase]
        if not isinstance(phase, RolloutPhase):
            continue
        end = period.end or ctx.as_of
        ctx.will_read(
            phase.flags[0],
            minute_of(period.start),
            minute_after(end),
            ctx.scopes.stage(ctx.record.run, period.phase, period.stage, period.start),
        )
    went = of_kind(ctx.events, WENT_LIVE)
    go_live = ctx.plan.go_live
    rollouts = [p for _, p in ctx.plan.rollout_phases()]
    if went and go_live is not None and go_live.checkpoints and rollouts:
        longest = max(c.after.delta for c in go_live.checkpoints)
        live = json_time(went[0].data, "at") or went[0].at
        ctx.will_read(
            rollouts[-1].flags[0],
            minute_of(live),
            minute_after(live + longest),
            ctx.scopes.go_live(ctx.record.run),
        )


def _header(ctx: ReportContext) -> Header:
    plan, record = ctx.plan, ctx.record
    return Header(
        run=record.run,
        plan_name=plan.name,
        title=plan.title,
        revision=plan.revision,
        environment=record.environment,
        status=record.status,
        owner=ctx.who(plan.owner),
        product_owner=ctx.who(plan.product_owner),
        started_at=record.created_at,
        as_of=ctx.as_of,
        summary=plan.summary,
        hypothesis=plan.hypothesis,
        links=tuple(LinkRow(link.title, str(link.url)) for link in plan.links),
    )


def _prerequisites(ctx: ReportContext) -> tuple[PrerequisiteRow, ...]:
    signed: dict[int, RunEvent] = {}
    for event in of_kind(ctx.events, PREREQUISITE_SIGNED):
        number = event.data.get("item")
        if isinstance(number, int) and not isinstance(number, bool):
            signed.setdefault(number, event)
    rows = []
    for index, item in enumerate(ctx.plan.prerequisites):
        found = signed.get(index)
        if found is None:
            rows.append(
                PrerequisiteRow(
                    item.text,
                    ctx.role_title(item.signed_by),
                    ctx.pending("not signed yet", item.signed_by),
                )
            )
            continue
        rows.append(
            PrerequisiteRow(
                item.text,
                ctx.role_title(item.signed_by),
                found.actor or text_of(found.data, "person") or "the controller",
                found.at,
                text_of(found.data, "note"),
            )
        )
    return tuple(rows)


def _phase(ctx: ReportContext, index: int, phase: RolloutPhase) -> PhaseReport:
    periods = stage_periods(ctx.events)
    stages = []
    for s, stage in enumerate(phase.stages):
        mine = [p for p in periods if (p.phase, p.stage) == (index, s)]
        results = (
            stage_results(ctx, phase, (index, s), stage, mine)
            if mine
            else _not_reached(ctx, index, s)
        )
        gate = None
        if stage.go_no_go is not None:
            gate = gate_report(ctx, stage.go_no_go, stage_scope(index, s))
        stages.append(
            StageReport(
                index, s, stage.name, _planning(ctx.plan, phase, stage), results, gate
            )
        )
    entry = None
    if phase.go_no_go is not None:
        entry = gate_report(ctx, phase.go_no_go, entry_scope(index))
    return PhaseReport(
        index=index,
        name=phase.name,
        flags=phase.flags,
        window=_window(phase),
        audience=_audience(ctx, phase),
        success_criteria=tuple(
            dict.fromkeys(c.describe() for s in phase.stages for c in s.criteria)
        ),
        dashboards=tuple(LinkRow(d.title, str(d.url)) for d in phase.dashboards)
        or Pending("no dashboard linked in the plan"),
        monitored_by=tuple(ctx.role_title(r) for r in phase.monitored_by),
        stages=tuple(stages),
        go_no_go=entry,
    )


def _not_reached(ctx: ReportContext, phase: int, stage: int) -> Pending:
    if ctx.record.status in ("completed", "aborted", "rolled_back"):
        return Pending(f"not run: the run is {ctx.record.status.replace('_', ' ')}")
    return Pending("not reached yet")


def _window(phase: RolloutPhase) -> Given:
    window = phase.window
    if window is None:
        return "no dates set: the phase starts when the one before it ends"
    end = f"{window.end:%Y-%m-%d}" if window.end else "open-ended"
    return f"{window.start:%Y-%m-%d} to {end} ({window.timezone})"


def _audience(ctx: ReportContext, phase: RolloutPhase) -> Given:
    audience = phase.audience
    parts = []
    if audience.description:
        parts.append(audience.description)
    if audience.eligible:
        parts.append(f"eligible segment: {audience.eligible}")
    if audience.allow_list:
        parts.append(f"allow list: {', '.join(audience.allow_list)}")
    if phase.holdback:
        parts.append(f"holdback: {phase.holdback:g} % of eligible users kept off")
    return " · ".join(parts) or Pending("not described in the plan")


def _planning(plan: Plan, phase: RolloutPhase, stage: Stage) -> StagePlanning:
    share = treatment_percentage(phase, stage) / 100
    traffic = plan.traffic
    minutes = stage.hold.seconds / 60
    users = requests = None
    if traffic is not None and traffic.users_per_day is not None:
        # Users seen in the hold, at most a day's worth: a user who comes back
        # on the second day is not a new one.
        users = traffic.users_per_day * share * min(1.0, minutes / _MINUTES_PER_DAY)
    if traffic is not None and traffic.requests_per_minute is not None:
        requests = traffic.requests_per_minute * share * minutes
    roles = stage.go_no_go.roles if stage.go_no_go else ()
    return StagePlanning(
        percentage=stage.percentage,
        treatment_percentage=treatment_percentage(phase, stage),
        hold=str(stage.hold),
        max_time=str(stage.effective_max_time),
        min_sample=stage.min_sample,
        expected_users=users,
        expected_requests=requests,
        go_no_go=tuple(
            (plan.roles[r].title or r) if r in plan.roles else r for r in roles
        ),
        criteria=tuple(c.describe() for c in stage.criteria),
    )


def _milestones(ctx: ReportContext) -> tuple[MilestoneRow, ...]:
    met: dict[str, dt.date] = {}
    for event in of_kind(ctx.events, MILESTONE_MET):
        name = text_of(event.data, "name", "milestone")
        if name:
            met.setdefault(name, event.at.date())
    rows = []
    for milestone in ctx.plan.milestones:
        actual = met.get(milestone.name) or milestone.met
        rows.append(
            MilestoneRow(
                milestone.name,
                milestone.target,
                actual
                if actual is not None
                else ctx.pending("not met yet", milestone.owner),
                ctx.role_title(milestone.owner) if milestone.owner else None,
            )
        )
    return tuple(rows)
