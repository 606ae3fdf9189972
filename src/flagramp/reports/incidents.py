"""Incidents in a report: trigger, what was done when, root cause, re-enabling.

An incident's record is the engine's JSON (`engine.steps.IncidentDraft.record`);
its timeline adds every log event whose data name the incident (`incident`).
"""

from __future__ import annotations

from collections.abc import Mapping

from flagramp.core.types import Json
from flagramp.reports.context import ReportContext, json_float, json_texts, json_time
from flagramp.reports.model import IncidentReport, Pending, TimelineRow
from flagramp.reports.run_log import text_of

#: Logged events that are the incident's action.
ACTED = frozenset({"rolled_back", "killed", "incident_raised"})


def incident_reports(ctx: ReportContext) -> tuple[IncidentReport, ...]:
    """Every incident of the run, in id order (I1, I2, … I10)."""
    return tuple(
        incident_report(ctx, key, record)
        for key, record in sorted(
            ctx.record.incidents.items(), key=lambda kv: (len(kv[0]), kv[0])
        )
    )


def incident_report(
    ctx: ReportContext, key: str, record: Mapping[str, Json]
) -> IncidentReport:
    """One incident with its timeline."""
    approver = ctx.plan.product_owner
    policy = ctx.plan.rollback
    if policy is not None and policy.re_enable is not None:
        approver = policy.re_enable.approved_by[0]
    detected = json_time(record, "detected_at")
    acted = json_time(record, "acted_at")
    verified = json_time(record, "verified_at")
    rows = [TimelineRow(detected, "detected", None)] if detected else []
    logged = set()
    for event in ctx.events:
        if text_of(event.data, "incident") == key:
            note = text_of(event.data, "note", "comment", "root_cause", "reason")
            kind = event.kind.replace("_", " ").replace("re enabled", "re-enabled")
            what = kind + (f": {note}" if note else "")
            rows.append(TimelineRow(event.at, what, event.actor))
            logged.add(event.kind)
    # Times the record holds that no logged event stands for.
    if acted is not None and not logged & ACTED:
        rows.append(TimelineRow(acted, "acted on", text_of(record, "acted_by") or None))
    if verified is not None and "rollback_verified" not in logged:
        rows.append(TimelineRow(verified, "rollback verified", None))
    rows.sort(key=lambda r: r.at)
    root_cause = text_of(record, "root_cause")
    re_enabled = text_of(record, "re_enabled_by", "approved_by")
    re_enabled_at = json_time(record, "re_enabled_at")
    if re_enabled and re_enabled_at is not None:
        re_enabled = f"{re_enabled} at {re_enabled_at:%Y-%m-%d %H:%M} UTC"
    return IncidentReport(
        id=key,
        severity=text_of(record, "severity") or "not given",
        trigger=text_of(record, "trigger") or "not given",
        criterion=text_of(record, "criterion") or None,
        detected_at=detected,
        acted_at=acted,
        verified_at=(
            f"{verified:%Y-%m-%d %H:%M} UTC"
            if verified is not None
            else Pending("not verified yet")
        ),
        users_affected=json_float(record, "users_affected"),
        acted_by=text_of(record, "acted_by") or None,
        root_cause=root_cause or ctx.pending("not given yet", approver),
        re_enabled=re_enabled or ctx.pending("not re-enabled yet", approver),
        timeline=tuple(rows),
        fingerprints=json_texts(record, "fingerprints"),
    )
