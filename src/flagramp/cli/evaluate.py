"""`flagramp eval FLAG --actor ID --prop k=v`: the answer and the deciding gate."""

from __future__ import annotations

import random
from typing import Annotated

import typer

from flagramp.cli.options import EnvOption, JsonOption, open_store
from flagramp.cli.output import console, emit_json, fail, styled, user_errors
from flagramp.core.clock import SystemClock
from flagramp.core.flags import Actor, Evaluator
from flagramp.core.flags.segments import parse_scalar
from flagramp.core.types import PropertyValue


def parse_properties(pairs: list[str]) -> dict[str, PropertyValue]:
    """`["ehr=oracle", "age=71"]` → `{"ehr": "oracle", "age": 71}`."""
    properties: dict[str, PropertyValue] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            fail(f"--prop takes name=value, got {pair!r}")
        properties[name.strip()] = parse_scalar(value.strip())
    return properties


def evaluate(
    flag: Annotated[str, typer.Argument(help="The flag's key.")],
    actor: Annotated[
        list[str] | None,
        typer.Option(
            "--actor",
            "-a",
            metavar="ID",
            help="flipper_id; repeat for several actors.",
        ),
    ] = None,
    prop: Annotated[
        list[str] | None,
        typer.Option(
            "--prop",
            "-p",
            metavar="NAME=VALUE",
            help="An actor property (repeatable).",
        ),
    ] = None,
    env: EnvOption = "production",
    as_json: JsonOption = False,
) -> None:
    """Evaluate a flag for an actor and say which gate decided, and why."""
    properties = parse_properties(prop or [])
    with user_errors():
        store = open_store()
        found = store.require_flag(flag, env)
        evaluator = Evaluator(store.segments(env), SystemClock(), random.random)
        actors = [Actor(a, properties) for a in actor or []]
        result = evaluator.explain(found, actors)
    if as_json:
        emit_json(
            {
                "flag": flag,
                "environment": env,
                "actors": [a.flipper_id for a in actors],
                "enabled": result.enabled,
                "gate": result.gate,
                "reason": result.reason,
            }
        )
        return
    verdict = styled("on", "green") if result.enabled else styled("off", "red")
    who = ", ".join(a.flipper_id for a in actors) or "(no actor)"
    console.print(
        f"{flag} for {who}:", verdict, f"— {result.gate}: {result.reason}", sep=" "
    )
