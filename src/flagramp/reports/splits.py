"""Questions answered by a split at a checkpoint, for their charts.

The plan language has no "draw a chart" field: a question whose `query` names a
metric with `split_by` (seed 002's "breakdown of those users on mobile v.
desktop", `users_sending` split by device) is answered by the split, and a
split gets a chart at every checkpoint that asks the question (its own
`record.questions`, and the post-launch questions at the plan's last
checkpoint, where the engine asks them).

The numbers are the engine's, when it recorded the checkpoint (`state.
checkpoints`: each question's value carries `split_on` and `split`); before
that, they are counted here the engine's way from the windows of the feature's
users (ON and allow-listed): events of the metric's event (a ratio's
denominator) by the breakdown field. The windows keep a breakdown by route,
status class and device only; a split by another label says so instead of
inventing rows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from flagramp.core.plans import Checkpoint, GoLive, Metric, Question
from flagramp.core.plans.metrics import RatioMetric
from flagramp.core.types import Json
from flagramp.reports.model import ShareRow, SplitChart
from flagramp.stats.windows import Window

__all__ = ["SPLIT_FIELDS", "checkpoint_splits", "split_rows"]

#: Breakdown key positions (name, route, status class, device) a split may read.
SPLIT_FIELDS = {"route": 1, "status": 2, "status_class": 2, "device": 3}
_SLUG = re.compile(r"[^A-Za-z0-9_.-]+")
RECORDED = "the checkpoint's record"
WINDOWS = "the windows"


def asked_at(go_live: GoLive, checkpoint: Checkpoint) -> tuple[Question, ...]:
    """The questions a checkpoint asks: its own, and the post-launch ones at
    the plan's last checkpoint."""
    latest = max((c.after.delta for c in go_live.checkpoints), default=None)
    last = latest is not None and checkpoint.after.delta >= latest
    return checkpoint.record.questions + (go_live.questions if last else ())


def checkpoint_splits(
    plan_metrics: Mapping[str, Metric],
    go_live: GoLive,
    index: int,
    checkpoint: Checkpoint,
    *,
    recorded: Mapping[str, Json] | None,
    windows: Sequence[Window] | None,
) -> tuple[SplitChart, ...]:
    """Every split a reached checkpoint answers a question with.

    `recorded` is the engine's checkpoint result, `windows` the feature lanes'
    windows of the checkpoint's span; with neither (not reached yet) there is
    nothing to draw and the answers say why.
    """
    if recorded is None and windows is None:
        return ()
    # Questions that query the same metric share its chart.
    by_metric: dict[str, list[str]] = {}
    for question in asked_at(go_live, checkpoint):
        metric = plan_metrics.get(question.query or "")
        if question.query is not None and metric is not None and metric.split_by:
            by_metric.setdefault(question.query, []).append(question.text)
    out = []
    for name, texts in by_metric.items():
        metric = plan_metrics[name]
        found = None
        for text in texts if recorded is not None else ():
            found = found or _recorded(recorded or {}, text)
        if found is not None:
            split_on, rows, note = found
            source = RECORDED
        else:
            split_on = metric.split_by[0]
            rows, note = split_rows(metric, windows or ())
            source = WINDOWS
        out.append(
            SplitChart(
                name=f"split-c{index + 1}-{_SLUG.sub('_', name)}",
                checkpoint=checkpoint.name,
                questions=tuple(texts),
                metric=name,
                split_on=split_on,
                rows=rows,
                source=source,
                note=note,
            )
        )
    return tuple(out)


def split_rows(
    metric: Metric, windows: Sequence[Window]
) -> tuple[tuple[ShareRow, ...], str | None]:
    """The metric's events by its first `split_by` label, largest first, and
    what the rows do not show (None: nothing)."""
    field = metric.split_by[0]
    position = SPLIT_FIELDS.get(field)
    if position is None:
        return (), f"the windows keep no split by {field!r}"
    event = (
        metric.denominator
        if isinstance(metric, RatioMetric)
        else getattr(metric, "event", None)
    )
    totals: dict[str, float] = {}
    for window in windows:
        for key, cell in window.breakdown.items():
            if key[0] == event:
                label = key[position] or "(none)"
                totals[label] = totals.get(label, 0.0) + cell.count
    note = (
        f"the split counts every {event} event (the metric's filters do not apply)"
        if metric.where
        else None
    )
    return _shares(totals), note


def _shares(totals: Mapping[str, float]) -> tuple[ShareRow, ...]:
    whole = sum(totals.values())
    return tuple(
        ShareRow(label, n, 100.0 * n / whole if whole else 0.0)
        for label, n in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))
    )


def _recorded(
    result: Mapping[str, Json], text: str
) -> tuple[str, tuple[ShareRow, ...], str | None] | None:
    """The split (label, rows, note) the engine recorded for the question."""
    wanted = " ".join(text.split())
    questions = result.get("questions")
    for doc in questions if isinstance(questions, list) else []:
        if not isinstance(doc, dict) or " ".join(str(doc.get("text")).split()) != (
            wanted
        ):
            continue
        value = doc.get("value")
        if not isinstance(value, dict) or not isinstance(value.get("split_on"), str):
            return None
        rows = []
        split = value.get("split")
        for row in split if isinstance(split, list) else []:
            if (
                isinstance(row, list)
                and len(row) == 3
                and isinstance(row[1], int | float)
                and isinstance(row[2], int | float)
            ):
                rows.append(ShareRow(str(row[0]), float(row[1]), float(row[2])))
        note = value.get("note")
        return (
            str(value["split_on"]),
            tuple(rows),
            note if isinstance(note, str) else None,
        )
    return None
