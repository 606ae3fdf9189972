"""Go live in a report: the gate, when it happened, KPIs and the checkpoints.

Checkpoint values come from the windows of the last rollout phase's first flag,
from go live until the checkpoint (`after` later): after go live every user is
exposed to that flag, so its scope sees them all. Windows of several flags are
never added up: a user exposed to four flags is in four scopes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from flagramp.core.plans import Checkpoint, GoLive, Kpi
from flagramp.core.types import Json
from flagramp.reports.context import (
    ReportContext,
    json_float,
    json_time,
    minute_after,
    minute_of,
)
from flagramp.reports.gates import GO_LIVE, gate_report
from flagramp.reports.model import (
    AnswerRow,
    CheckpointReport,
    GoLiveReport,
    KpiRow,
    Pending,
)
from flagramp.reports.run_log import WENT_LIVE, of_kind
from flagramp.reports.splits import checkpoint_splits
from flagramp.reports.stage_results import fingerprint_rows
from flagramp.reports.values import Lanes, metric_value, unit_of, users


def go_live_report(ctx: ReportContext, go_live: GoLive) -> GoLiveReport:
    """The plan's go live with what happened."""
    went = of_kind(ctx.events, WENT_LIVE)
    live_at = (json_time(went[0].data, "at") or went[0].at) if went else None
    gate = None
    if go_live.go_no_go is not None:
        gate = gate_report(ctx, go_live.go_no_go, GO_LIVE)
    return GoLiveReport(
        desired_date=go_live.date or Pending("no date in the plan"),
        went_live_at=live_at or Pending("not live yet"),
        go_no_go=gate,
        kpis=tuple(_kpi(ctx, k) for k in go_live.kpis),
        checkpoints=tuple(
            checkpoint_report(ctx, go_live, c, live_at, index=i)
            for i, c in enumerate(go_live.checkpoints)
        ),
        questions=_questions(ctx, go_live),
    )


def _kpi(
    ctx: ReportContext,
    kpi: Kpi,
    actual: float | Pending | None = None,
    met: bool | None = None,
) -> KpiRow:
    metric = ctx.plan.metrics.get(kpi.metric)
    unit = unit_of(metric) if metric is not None else ""
    return KpiRow(
        kpi.name, kpi.description, kpi.metric, unit, kpi.target(), actual, met
    )


def checkpoint_report(
    ctx: ReportContext,
    go_live: GoLive,
    checkpoint: Checkpoint,
    live_at: dt.datetime | None,
    *,
    index: int = 0,
) -> CheckpointReport:
    """One checkpoint: KPI actuals from go live until it, the answers, and the
    splits that answer questions (`index`: its place among the checkpoints,
    for the charts' names)."""
    if live_at is None:
        due = None
        reason = Pending("not reached yet: the run has not gone live")
    else:
        due = live_at + checkpoint.after.delta
        reason = Pending(f"not reached yet: due {due:%Y-%m-%d %H:%M} UTC")
    reached = due is not None and ctx.as_of >= due
    lanes = Lanes.of([])
    if reached and live_at is not None and due is not None:
        lanes = Lanes.of(
            ctx.windows(
                _live_flag(ctx),
                minute_of(live_at),
                minute_after(due),
                ctx.scopes.go_live(ctx.record.run),
            )
        )
    recorded = _recorded(ctx, checkpoint.name)
    kpis = []
    if recorded is not None:
        kpis = [_recorded_kpi(ctx, kpi, recorded) for kpi in go_live.kpis]
    elif checkpoint.kpis:
        for kpi in go_live.kpis:
            metric = ctx.plan.metrics.get(kpi.metric)
            if not reached or metric is None:
                kpis.append(_kpi(ctx, kpi, reason))
                continue
            value = metric_value(metric, lanes.on, kpi.metric)
            if value is None:
                kpis.append(_kpi(ctx, kpi, Pending("no data in the windows")))
                continue
            if kpi.below is not None:
                met = value < kpi.below
            else:
                met = value > (kpi.above or 0.0)
            kpis.append(_kpi(ctx, kpi, value, met))
    answers = _checkpoint_answers(ctx, checkpoint, lanes, reached, reason)
    feature = [w for w in (lanes.on, lanes.allow_listed) if w is not None]
    splits = checkpoint_splits(
        ctx.plan.metrics,
        go_live,
        index,
        checkpoint,
        recorded=recorded,
        windows=feature if reached else None,
    )
    return CheckpointReport(
        name=checkpoint.name,
        after=str(checkpoint.after),
        due_at=due,
        reached=reached,
        unique_users=(
            _recorded_users(recorded)
            if recorded is not None
            else reason
            if not reached
            else users(lanes.on)
            if lanes.on is not None
            else Pending("no data in the windows")
        ),
        kpis=tuple(kpis),
        answers=answers,
        fingerprints=fingerprint_rows(lanes.on, lanes.off) if reached else (),
        splits=splits,
    )


def _recorded(ctx: ReportContext, name: str) -> Mapping[str, Json] | None:
    """The engine's recorded result of the checkpoint (`state.checkpoints`)."""
    results = ctx.state.get("checkpoints")
    for result in results if isinstance(results, list) else []:
        if isinstance(result, dict) and result.get("checkpoint") == name:
            return result
    return None


def _recorded_users(result: Mapping[str, Json]) -> float | Pending:
    found = json_float(result, "unique_users")
    return Pending("no data in the windows") if found is None else found


def _recorded_kpi(ctx: ReportContext, kpi: Kpi, result: Mapping[str, Json]) -> KpiRow:
    rows = result.get("kpis")
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, dict) or row.get("name") != kpi.name:
            continue
        actual = row.get("actual")
        value = json_float(actual, "value") if isinstance(actual, dict) else None
        status = row.get("status")
        met = {"met": True, "not_met": False}.get(str(status))
        if value is None:
            return _kpi(ctx, kpi, Pending("no data in the windows"))
        return _kpi(ctx, kpi, value, met)
    return _kpi(ctx, kpi, Pending("not in the recorded checkpoint"))


def _live_flag(ctx: ReportContext) -> str:
    phases = [phase for _, phase in ctx.plan.rollout_phases()]
    return phases[-1].flags[0] if phases else ""


def _checkpoint_answers(
    ctx: ReportContext,
    checkpoint: Checkpoint,
    lanes: Lanes,
    reached: bool,
    reason: Pending,
) -> tuple[AnswerRow, ...]:
    given = ctx.answers(checkpoint=checkpoint.name)
    rows = []
    for question in checkpoint.record.questions:
        event = given.get(" ".join(question.text.split()))
        if event is not None:
            text = str(event.data.get("text") or event.data.get("answer") or "")
            rows.append(AnswerRow(question.text, text, event.actor, event.at))
        elif question.query and question.query in ctx.plan.metrics:
            if not reached:
                rows.append(AnswerRow(question.text, reason))
                continue
            metric = ctx.plan.metrics[question.query]
            value = metric_value(metric, lanes.on, question.query)
            shown = "no data" if value is None else f"{value:,.0f}"
            rows.append(AnswerRow(question.text, shown, "the windows"))
        else:
            what = "not answered yet" if reached else str(reason)
            rows.append(
                AnswerRow(question.text, ctx.pending(what, question.answered_by))
            )
        if question.follow_up is not None and event is not None:
            text = str(event.data.get("text") or "").strip().lower()
            if text.startswith("yes"):
                follow = given.get(" ".join(question.follow_up.text.split()))
                rows.append(
                    AnswerRow(
                        question.follow_up.text,
                        str(follow.data.get("text"))
                        if follow is not None
                        else ctx.pending(
                            "not answered yet", question.follow_up.answered_by
                        ),
                        follow.actor if follow is not None else None,
                        follow.at if follow is not None else None,
                    )
                )
    return tuple(rows)


def _questions(ctx: ReportContext, go_live: GoLive) -> tuple[AnswerRow, ...]:
    # With checkpoints the engine asks the post-launch questions at the last
    # one, and answers to them name that checkpoint.
    given = dict(ctx.answers())
    if go_live.checkpoints:
        last = max(go_live.checkpoints, key=lambda c: c.after.delta)
        given = {**ctx.answers(checkpoint=last.name), **given}
    rows = []
    for question in go_live.questions:
        event = given.get(" ".join(question.text.split()))
        if event is not None:
            text = str(event.data.get("text") or event.data.get("answer") or "")
            rows.append(AnswerRow(question.text, text, event.actor, event.at))
        elif question.answer:
            rows.append(AnswerRow(question.text, question.answer, "the plan"))
        else:
            rows.append(
                AnswerRow(
                    question.text, ctx.pending("not answered yet", question.answered_by)
                )
            )
    return tuple(rows)
