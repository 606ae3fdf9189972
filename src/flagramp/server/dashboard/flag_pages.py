"""Flags: state per environment, who gets one and why, its history, and the
changes a person's token may make (on, off, a percentage of actors).

Changes go through the store exactly as `/api/v1/flags` makes them: one unit
of work, one audit row authored by the viewer with the form's reason.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import anyio.to_thread
from fastapi import APIRouter, Depends, Request
from starlette.responses import RedirectResponse, Response

from flagramp.core.errors import FlagrampError
from flagramp.core.flags import Actor, Evaluator, Flag, Percentage
from flagramp.core.flags import operations as ops
from flagramp.server.dashboard.access import Viewer, dashboard_state, posted, viewer
from flagramp.server.dashboard.forms import parse_properties
from flagramp.server.dashboard.offers import Action, may
from flagramp.server.state import ServerState, server_state
from flagramp.store import DEFAULT_ENVIRONMENT, FlagChange
from flagramp.store.documents import flag_from_document

router = APIRouter(include_in_schema=False)
#: History rows shown on a flag's page (newest first).
HISTORY_ROWS = 50
#: What a change's success says on the flag's page.
DONE = {
    "enable": "Turned on for everyone.",
    "disable": "Turned off for everyone.",
    "percentage_of_actors": "Percentage of actors set.",
}


def flag_path(key: str) -> str:
    """The dashboard page of a flag (keys may hold `/`)."""
    return f"/dashboard/flags/{quote(key)}"


@dataclass(frozen=True, slots=True)
class FlagInEnvironment:
    """One flag in one environment, in words."""

    environment: str
    state: str
    summary: str


def describe(flag: Flag) -> str:
    """Who gets the flag, in a few words."""
    parts: list[str] = []
    if flag.boolean:
        parts.append("on for everyone")
    if flag.percentage_of_actors is not None and flag.percentage_of_actors.value > 0:
        parts.append(f"{flag.percentage_of_actors.value:g} % of actors")
    if flag.percentage_of_time is not None and flag.percentage_of_time.value > 0:
        parts.append(f"{flag.percentage_of_time.value:g} % of checks")
    if flag.actors:
        parts.append(f"{len(flag.actors)} allow-listed actor(s)")
    if flag.groups:
        parts.append("groups " + ", ".join(flag.groups))
    if flag.expression:
        parts.append("an expression")
    if not parts:
        parts.append("off for everyone")
    if flag.eligibility:
        parts.append(f"only inside segment {flag.eligibility}")
    if flag.denied_actors:
        parts.append(f"{len(flag.denied_actors)} denied")
    return "; ".join(parts)


def _by_key(state: ServerState) -> tuple[list[str], dict[str, dict[str, Flag]]]:
    environments = state.store.environments() or [DEFAULT_ENVIRONMENT]
    flags: dict[str, dict[str, Flag]] = {}
    for env in environments:
        for flag in state.store.list_flags(env):
            flags.setdefault(flag.key, {})[env] = flag
    return environments, dict(sorted(flags.items()))


def _environment(state: ServerState, asked: str | None) -> str:
    environments = state.store.environments()
    if asked in environments:
        assert asked is not None
        return asked
    return (
        DEFAULT_ENVIRONMENT
        if DEFAULT_ENVIRONMENT in environments
        else (environments[0] if environments else DEFAULT_ENVIRONMENT)
    )


@router.get("/flags")
async def flag_list(
    request: Request, who: Annotated[Viewer, Depends(viewer)]
) -> Response:
    """Every flag, one column per environment."""
    state = server_state(request)
    environments, flags = await anyio.to_thread.run_sync(_by_key, state)
    rows = [
        {
            "key": key,
            "cells": [
                None
                if env not in by_env
                else FlagInEnvironment(env, by_env[env].state, describe(by_env[env]))
                for env in environments
            ],
        }
        for key, by_env in flags.items()
    ]
    return dashboard_state(request).pages.render(
        "flags.html",
        {
            **who.context(),
            "section": "flags",
            "environments": environments,
            "rows": rows,
        },
    )


def _flag_page_context(
    state: ServerState, key: str, environment: str
) -> dict[str, Any] | None:
    environments = state.store.environments() or [DEFAULT_ENVIRONMENT]
    found = [
        (env, flag)
        for env in environments
        if (flag := state.store.get_flag(key, env)) is not None
    ]
    if not found:
        return None
    history = []
    if state.store.get_flag(key, environment) is not None:
        for entry in reversed(state.store.history(key, environment)[-HISTORY_ROWS:]):
            history.append(
                {
                    "at": entry.at,
                    "who": entry.actor,
                    "why": entry.reason,
                    "action": entry.action,
                    "after": _state_of(entry.after),
                }
            )
    return {
        "key": key,
        "environment": environment,
        "environments": [env for env, _ in found],
        "in_environments": [
            {
                "environment": env,
                "state": flag.state,
                "summary": describe(flag),
                "percentage": _percentage_text(flag),
            }
            for env, flag in found
        ],
        "history": history,
    }


def _percentage_text(flag: Flag) -> str:
    poa = flag.percentage_of_actors
    return "" if poa is None else f"{poa.value:g}"


def _state_of(after: str | None) -> str:
    """The flag's state after an audited change, in words."""
    if after is None:
        return "removed"
    try:
        return describe(flag_from_document(json.loads(after)))
    except (ValueError, FlagrampError):
        return "changed"


async def _render_flag(
    request: Request,
    who: Viewer,
    key: str,
    environment: str | None,
    *,
    extra: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    state = server_state(request)
    env = _environment(state, environment)
    context = await anyio.to_thread.run_sync(_flag_page_context, state, key, env)
    pages = dashboard_state(request).pages
    if context is None:
        return pages.render(
            "not_found.html",
            {**who.context(), "section": "flags", "what": f"flag {key}"},
            status=404,
        )
    return pages.render(
        "flag.html",
        {
            **who.context(),
            "section": "flags",
            "explained": None,
            "error": None,
            "done": DONE.get(request.query_params.get("done", "")),
            **context,
            **(extra or {}),
        },
        status=status,
    )


def _refused(request: Request, who: Viewer, key: str) -> Response:
    return dashboard_state(request).pages.render(
        "refused.html",
        {**who.context(), "section": "flags", "what": f"change flag {key}"},
        status=403,
    )


async def _change(request: Request, who: Viewer, key: str, action: Action) -> Response:
    form = await posted(request, who)
    env = form.get("environment") or None
    if not may(who.identity, action):
        return _refused(request, who, key)
    state = server_state(request)
    environment = _environment(state, env)
    why = form.get("why", "")[:1000]
    change: FlagChange
    if action is Action.FLAG_ENABLE:
        change, name = ops.enable, "enable"
    elif action is Action.FLAG_DISABLE:
        change, name = ops.disable, "disable"
    else:
        try:
            pct = Percentage.parse(form.get("percentage", "").strip())
        except FlagrampError as exc:
            return await _render_flag(
                request, who, key, environment, extra={"error": str(exc)}, status=422
            )
        change = lambda f: ops.set_percentage_of_actors(f, pct)  # noqa: E731
        name = "percentage_of_actors"
    author = who.identity.author(why)
    try:
        await anyio.to_thread.run_sync(
            lambda: state.store.change_flag(key, change, author, environment, name)
        )
    except FlagrampError as exc:
        return await _render_flag(
            request, who, key, environment, extra={"error": str(exc)}, status=409
        )
    query = urlencode({"environment": environment, "done": name})
    return RedirectResponse(f"{flag_path(key)}?{query}", status_code=303)


@router.post("/flags/{key:path}/enable")
async def enable(
    request: Request, key: str, who: Annotated[Viewer, Depends(viewer)]
) -> Response:
    """Turn the flag fully on in one environment."""
    return await _change(request, who, key, Action.FLAG_ENABLE)


@router.post("/flags/{key:path}/disable")
async def disable(
    request: Request, key: str, who: Annotated[Viewer, Depends(viewer)]
) -> Response:
    """Turn the flag off for everyone in one environment."""
    return await _change(request, who, key, Action.FLAG_DISABLE)


@router.post("/flags/{key:path}/percentage")
async def percentage(
    request: Request, key: str, who: Annotated[Viewer, Depends(viewer)]
) -> Response:
    """Enable the flag for a percentage of actors in one environment."""
    return await _change(request, who, key, Action.FLAG_PERCENTAGE)


@router.post("/flags/{key:path}/explain")
async def explain(
    request: Request, key: str, who: Annotated[Viewer, Depends(viewer)]
) -> Response:
    """Who gets it and why, for an actor the viewer types (`Evaluator.explain`)."""
    form = await posted(request, who)
    state = server_state(request)
    environment = _environment(state, form.get("environment"))
    flipper_id = form.get("flipper_id", "").strip()
    properties = parse_properties(form.get("properties", ""))

    def decide() -> dict[str, Any] | None:
        flag = state.store.get_flag(key, environment)
        if flag is None:
            return None
        evaluator = Evaluator(
            state.store.segments(environment), state.clock, random.random
        )
        actors = [Actor(flipper_id, properties)] if flipper_id else []
        result = evaluator.explain(flag, actors)
        return {
            "actor": flipper_id or "(no actor)",
            "properties": properties,
            "environment": environment,
            "enabled": result.enabled,
            "gate": result.gate,
            "reason": result.reason,
        }

    explained = await anyio.to_thread.run_sync(decide)
    pages = dashboard_state(request).pages
    if request.headers.get("hx-request") == "true":
        return pages.render("explained.html", {"explained": explained})
    return await _render_flag(
        request, who, key, environment, extra={"explained": explained}
    )


@router.get("/flags/{key:path}", name="flag_page")
async def flag_page(
    request: Request, key: str, who: Annotated[Viewer, Depends(viewer)]
) -> Response:
    """One flag: its state in every environment, forms, explain, history."""
    return await _render_flag(
        request, who, key, request.query_params.get("environment")
    )
