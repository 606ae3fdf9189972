"""Runs: the list (state, stage, what each waits for and from whom, next
decision due) and a run's page (timeline, guard charts fed over SSE by
`run_stream`, `guards.json` when that fails, the pending go/no-go with
Launch / Pause / Pivot and its frozen evidence, the kill switch behind a
confirmation, incidents).

Commands go through the `RunsPort` (`engine.service.RunService`) as the viewer
(`Identity.who`); the engine checks their plan role and refuses otherwise,
and the refusal is shown on the page.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

import anyio.to_thread
from fastapi import APIRouter, Depends, Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from flagramp.core.errors import EngineError
from flagramp.core.plans import Answer
from flagramp.engine.commands import Command, Kill, Pause, Resume, Vote
from flagramp.server.dashboard.access import Viewer, dashboard_state, posted, viewer
from flagramp.server.dashboard.offers import Action, may
from flagramp.server.dashboard.run_views import (
    FINAL,
    guard_series,
    line,
    may_kill,
    next_due,
    pending_gate,
    plan_of,
    timeline,
    waiting,
)
from flagramp.server.dashboard.runs_port import RunDetail, RunsPort
from flagramp.server.state import server_state

router = APIRouter(include_in_schema=False)
#: How often a run's page asks for its panel again, and for its charts when
#: the stream fails (seconds).
POLL_SECONDS = 5
#: The `/api/v1` route each form stands for (the matrix decides who may).
_ACTIONS = {
    "vote": Action.RUN_VOTE,
    "kill": Action.RUN_KILL,
    "pause": Action.RUN_PAUSE,
    "resume": Action.RUN_RESUME,
}
#: What a command's success says on the page it returns to.
DONE = {
    "vote": "Your answer is recorded.",
    "kill": "Kill switch pulled: every flag of the run is off.",
    "pause": "The run is paused.",
    "resume": "The run goes on.",
}


def _no_runs(request: Request, who: Viewer) -> Response:
    return dashboard_state(request).pages.render(
        "no_runs.html", {**who.context(), "section": "runs"}, status=503
    )


@router.get("/runs")
async def run_list(
    request: Request, who: Annotated[Viewer, Depends(viewer)]
) -> Response:
    """Every run, newest first."""
    runs = dashboard_state(request).runs
    if runs is None:
        return _no_runs(request, who)
    now = server_state(request).clock.now()
    rows = await anyio.to_thread.run_sync(lambda: list(runs.list()))
    lines = [line(row, now) for row in reversed(rows)]
    return dashboard_state(request).pages.render(
        "runs.html", {**who.context(), "section": "runs", "runs": lines}
    )


def _detail_context(
    runs: RunsPort, run: str, who: Viewer, now: Any
) -> dict[str, Any] | None:
    try:
        detail: RunDetail = runs.show(run)
    except KeyError:
        return None
    log = runs.log(run)
    row = detail.row
    plan = plan_of(row.plan_text)
    what, whom = waiting(row.state)
    allowed = {a: may(who.identity, a) for a in _ACTIONS.values()}
    gate = pending_gate(plan, row.state, who.who)
    final = row.status in FINAL
    return {
        "run": row,
        "phase": detail.phase or "—",
        "stage": detail.stage or "—",
        "waiting_for": detail.waiting_for or what,
        "who_acts": whom,
        "next_due": next_due(plan, row.state, now),
        "gate": gate,
        "offer_vote": allowed[Action.RUN_VOTE]
        and gate is not None
        and bool(gate.my_roles),
        "offer_kill": allowed[Action.RUN_KILL]
        and not final
        and may_kill(plan, who.who),
        "offer_pause": allowed[Action.RUN_PAUSE]
        and row.status in ("stage_running", "waiting_window", "awaiting_go_no_go"),
        "offer_resume": allowed[Action.RUN_RESUME] and row.status == "paused",
        "timeline": timeline(log),
        "incidents": [
            {"id": i.incident, "record": dict(i.record)} for i in detail.incidents
        ],
        "poll_seconds": POLL_SECONDS,
    }


async def _render_run(
    request: Request,
    who: Viewer,
    run: str,
    *,
    template: str = "run.html",
    error: str | None = None,
    status: int = 200,
) -> Response:
    runs = dashboard_state(request).runs
    if runs is None:
        return _no_runs(request, who)
    now = server_state(request).clock.now()
    context = await anyio.to_thread.run_sync(_detail_context, runs, run, who, now)
    pages = dashboard_state(request).pages
    if context is None:
        return pages.render(
            "not_found.html",
            {**who.context(), "section": "runs", "what": f"run {run}"},
            status=404,
        )
    done = DONE.get(request.query_params.get("done", ""))
    return pages.render(
        template,
        {**who.context(), "section": "runs", "error": error, "done": done, **context},
        status=status,
    )


@router.get("/runs/{run}", name="run_page")
async def run_page(
    request: Request, run: str, who: Annotated[Viewer, Depends(viewer)]
) -> Response:
    """One run: where it is, what it waits for, and what the viewer can do."""
    return await _render_run(request, who, run)


@router.get("/runs/{run}/panel")
async def run_panel(
    request: Request, run: str, who: Annotated[Viewer, Depends(viewer)]
) -> Response:
    """The run's live part (state, timeline, incidents), polled by htmx."""
    return await _render_run(request, who, run, template="run_panel.html")


@router.get("/runs/{run}/guards.json")
async def run_guards(
    request: Request, run: str, who: Annotated[Viewer, Depends(viewer)]
) -> Response:
    """Each criterion's estimate and interval over time, for the charts."""
    runs = dashboard_state(request).runs
    if runs is None:
        return JSONResponse({"criteria": {}}, status_code=503)

    def read() -> dict[str, Any] | None:
        try:
            detail = runs.show(run)
        except KeyError:
            return None
        return guard_series(
            runs.log(run), detail.last_evaluation, detail.row.state.get("looks")
        )

    series = await anyio.to_thread.run_sync(read)
    if series is None:
        return JSONResponse({"criteria": {}}, status_code=404)
    return JSONResponse(series)


def _command(form: dict[str, str], action: str, person: str) -> Command | str:
    """The command a form asks for, or what is wrong with the form."""
    note = form.get("note", "")[:2000]
    if action == "vote":
        try:
            answer = Answer(form.get("answer", ""))
        except ValueError:
            return "Choose Launch, Pause or Pivot."
        role = form.get("role", "")
        if not role:
            return "Choose the role you answer for."
        return Vote(person, role, answer, form.get("comment", "")[:2000])
    if action == "kill":
        if form.get("confirm") != "yes":
            return "Tick the confirmation to pull the kill switch."
        return Kill(person, note)
    if action == "pause":
        return Pause(person, note)
    return Resume(person, note)


async def _run_command(
    request: Request, run: str, who: Viewer, action: str
) -> Response:
    form = await posted(request, who)
    runs = dashboard_state(request).runs
    if runs is None:
        return _no_runs(request, who)
    if not may(who.identity, _ACTIONS[action]):
        return dashboard_state(request).pages.render(
            "refused.html",
            {**who.context(), "section": "runs", "what": f"command run {run}"},
            status=403,
        )
    cmd = _command(form, action, who.who)
    if isinstance(cmd, str):
        return await _render_run(request, who, run, error=cmd, status=422)
    try:
        await anyio.to_thread.run_sync(runs.command, run, cmd)
    except KeyError:
        return await _render_run(request, who, run, status=404)
    except EngineError as exc:
        return await _render_run(request, who, run, error=str(exc), status=409)
    return RedirectResponse(
        f"/dashboard/runs/{quote(run, safe='')}?done={action}", status_code=303
    )


@router.post("/runs/{run}/vote")
async def vote(
    request: Request, run: str, who: Annotated[Viewer, Depends(viewer)]
) -> Response:
    """Answer the pending go/no-go for one of the viewer's roles."""
    return await _run_command(request, run, who, "vote")


@router.post("/runs/{run}/kill")
async def kill(
    request: Request, run: str, who: Annotated[Viewer, Depends(viewer)]
) -> Response:
    """The kill switch: every flag of the run off for everyone (confirmed)."""
    return await _run_command(request, run, who, "kill")


@router.post("/runs/{run}/pause")
async def pause(
    request: Request, run: str, who: Annotated[Viewer, Depends(viewer)]
) -> Response:
    """Pause the run."""
    return await _run_command(request, run, who, "pause")


@router.post("/runs/{run}/resume")
async def resume(
    request: Request, run: str, who: Annotated[Viewer, Depends(viewer)]
) -> Response:
    """Resume a paused run."""
    return await _run_command(request, run, who, "resume")
