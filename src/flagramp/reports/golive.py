"""Go live in a report: the gate, when it happened, KPIs and the checkpoints.

Checkpoint values come from the windows of the last rollout phase's first flag,
from go live until the checkpoint (`after` later): after go live every user is
exposed to that flag, so its scope sees them all. Windows of several flags are
never added up: a user exposed to four flags is in four scopes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from flagramp.core.plans import Checkpoint, GoLive, Kpi, Question
from flagramp.core.types import Json
from flagramp.reports.context import (
    ReportContext,
    json_float,
    json_time,
    minute_after,
    minute_of,
)
from flagramp.reports.fmt import number
from flagramp.reports.gates import GO_LIVE, gate_report
from flagramp.reports.model import (
    AnswerRow,
    CheckpointReport,
    GoLiveReport,
    KpiRow,
    Pending,
)
from flagramp.reports.run_log import WENT_LIVE, of_kind
from flagramp.reports.run_record import RunEvent
from flagramp.reports.splits import checkpoint_splits
from flagramp.reports.stage_results import fingerprint_rows
from flagramp.reports.values import Lanes, feature_users, feature_value, unit_of


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
        questions=_questions(ctx, go_live, live_at),
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
    due, reached, reason, lanes = _span(ctx, checkpoint, live_at)
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
            value = feature_value(metric, lanes, kpi.metric)
            if value is None:
                kpis.append(_kpi(ctx, kpi, Pending("no data in the windows")))
                continue
            if kpi.below is not None:
                met = value < kpi.below
            else:
                met = value > (kpi.above or 0.0)
            kpis.append(_kpi(ctx, kpi, value, met))
    answers = _checkpoint_answers(
        ctx, checkpoint, lanes, reached, reason, recorded=recorded, due=due
    )
    feature = [w for w in (lanes.on, lanes.allow_listed) if w is not None]
    splits = checkpoint_splits(
        ctx.plan.metrics,
        go_live,
        index,
        checkpoint,
        recorded=recorded,
        windows=feature if reached else None,
    )
    flag = recorded.get("flag") if recorded is not None else None
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
            else feature_users(lanes)
            if feature
            else Pending("no data in the windows")
        ),
        kpis=tuple(kpis),
        answers=answers,
        fingerprints=fingerprint_rows(lanes.on, lanes.off) if reached else (),
        splits=splits,
        users_flag=flag if isinstance(flag, str) and flag else _live_flag(ctx),
        recorded=recorded is not None,
    )


def _span(
    ctx: ReportContext, checkpoint: Checkpoint, live_at: dt.datetime | None
) -> tuple[dt.datetime | None, bool, Pending, Lanes]:
    """The checkpoint's due time, whether it is reached, why not, and the
    live flag's windows from go live until it (empty before it is reached)."""
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
    return due, reached, reason, lanes


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
    *,
    recorded: Mapping[str, Json] | None = None,
    due: dt.datetime | None = None,
    questions: Sequence[Question] | None = None,
    given: Mapping[str, RunEvent] | None = None,
) -> tuple[AnswerRow, ...]:
    """The answers to `questions` (default: the checkpoint's own) at the
    checkpoint: people's from the log, queries' from the recorded checkpoint
    (else from the windows of its span)."""
    if given is None:
        given = ctx.answers(checkpoint=checkpoint.name)
    asked = checkpoint.record.questions if questions is None else tuple(questions)
    rows = []
    for question in asked:
        event = given.get(" ".join(question.text.split()))
        if event is not None:
            text = str(event.data.get("text") or event.data.get("answer") or "")
            rows.append(AnswerRow(question.text, text, event.actor, event.at))
        elif question.query:
            if not reached:
                rows.append(AnswerRow(question.text, reason))
                continue
            rows.append(_query_answer(ctx, checkpoint, question, lanes, recorded, due))
        elif question.answer:
            rows.append(AnswerRow(question.text, question.answer, "the plan"))
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


def _query_answer(
    ctx: ReportContext,
    checkpoint: Checkpoint,
    question: Question,
    lanes: Lanes,
    recorded: Mapping[str, Json] | None,
    due: dt.datetime | None,
) -> AnswerRow:
    """A question a query answers: the value the engine recorded at the
    checkpoint, with the query named; without a record, the same reading of
    the windows (the feature's users: ON and allow-listed)."""
    query = question.query or ""
    metric = ctx.plan.metrics.get(query)
    value = _recorded_question_value(recorded, question.text)
    # A distinct count says whose: the users with the metric's event, not
    # every user of the flag (the checkpoint's own user count).
    distinct = metric is not None and metric.metric_kind.value == "unique_actors"
    event = getattr(metric, "event", None) if distinct else None
    whose = f" with a {event} event" if event else ""
    if value is not None:
        source = f"query {query}, recorded at the {checkpoint.name} checkpoint"
        shown = query_text(value)
        return AnswerRow(
            question.text, shown + (whose if shown[0].isdigit() else ""), source, due
        )
    if metric is None:
        return AnswerRow(question.text, Pending(f"the plan has no metric {query}"))
    unit = unit_of(metric) or _count_unit(metric.metric_kind.value)
    found = feature_value(metric, lanes, query)
    shown = (
        number(found, unit) + whose if found is not None else "no data in the windows"
    )
    source = f"query {query}, from the windows of go live to the checkpoint"
    return AnswerRow(question.text, shown, source, due)


def _recorded_question_value(
    recorded: Mapping[str, Json] | None, text: str
) -> Mapping[str, Json] | None:
    """The recorded `MetricValue` of the question `text` (None: not recorded)."""
    rows = recorded.get("questions") if recorded is not None else None
    wanted = " ".join(text.split())
    for row in rows if isinstance(rows, list) else []:
        if (
            not isinstance(row, dict)
            or " ".join(str(row.get("text")).split()) != wanted
        ):
            continue
        value = row.get("value")
        return value if isinstance(value, dict) else None
    return None


def _count_unit(kind: str) -> str:
    # Counts and distinct counts have no unit in the plan: say what is counted.
    return {"unique_actors": "users", "count": "events"}.get(kind, "")


def query_text(value: Mapping[str, Json]) -> str:
    """A recorded `MetricValue` in words: `36,501 users`, `412 events, 1.8 per
    user with the event`, or `no data: <why>`."""
    found = json_float(value, "value")
    note = value.get("note")
    if found is None:
        return f"no data: {note}" if isinstance(note, str) and note else "no data"
    kind = str(value.get("kind") or "")
    unit = str(value.get("unit") or "") or _count_unit(kind)
    text = number(found, unit)
    per_active = json_float(value, "per_active_user")
    per_user = json_float(value, "per_user")
    if per_active is not None:
        text += f", {number(per_active)} per user with the event"
    elif per_user is not None:
        text += f", {number(per_user)} per exposed user"
    return text


def _questions(
    ctx: ReportContext,
    go_live: GoLive,
    live_at: dt.datetime | None,
) -> tuple[AnswerRow, ...]:
    """The post-launch questions: the engine asks them at the last checkpoint,
    so answers (people's, and queries' recorded values) name that checkpoint."""
    given = dict(ctx.answers())
    if not go_live.checkpoints:
        reason = Pending("not answered yet")
        rows = []
        for question in go_live.questions:
            event = given.get(" ".join(question.text.split()))
            if event is not None:
                text = str(event.data.get("text") or event.data.get("answer") or "")
                rows.append(AnswerRow(question.text, text, event.actor, event.at))
            elif question.answer:
                rows.append(AnswerRow(question.text, question.answer, "the plan"))
            elif question.query:
                rows.append(AnswerRow(question.text, reason))
            else:
                rows.append(
                    AnswerRow(
                        question.text,
                        ctx.pending("not answered yet", question.answered_by),
                    )
                )
        return tuple(rows)
    last = max(go_live.checkpoints, key=lambda c: c.after.delta)
    given = {**ctx.answers(checkpoint=last.name), **given}
    due, reached, reason, lanes = _span(ctx, last, live_at)
    return _checkpoint_answers(
        ctx,
        last,
        lanes,
        reached,
        reason,
        recorded=_recorded(ctx, last.name),
        due=due,
        questions=go_live.questions,
        given=given,
    )
