"""`flagramp flags …`: list, show and change flags; segments; import and export."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from flagramp.cli.commands import App
from flagramp.cli.flags_stale import stale_rows
from flagramp.cli.options import (
    EnvOption,
    JsonOption,
    WhoOption,
    WhyOption,
    author,
    open_store,
)
from flagramp.cli.output import console, emit_json, fail, user_errors
from flagramp.cli.render import flag_summary, flag_table, history_table
from flagramp.cli.text import count, did_you_mean
from flagramp.core.flags import Flag, Percentage, Segment
from flagramp.core.flags import operations as ops
from flagramp.core.flags.expressions import MAX_DEPTH as MAX_EXPRESSION_DEPTH
from flagramp.core.flags.model import unique
from flagramp.core.plans import Duration
from flagramp.core.types import Json
from flagramp.store import (
    FlagChange,
    export_json,
    import_features_yml,
    import_flipper,
    read_import_file,
)
from flagramp.store.documents import flag_document, segment_document

flags_app = App(help="Flags: show and change them.")
actor_app = App(help="The actor allow list of a flag.")
segment_app = App(help="Segments and flag eligibility.")
flags_app.add_typer(actor_app, name="actor")
flags_app.add_typer(segment_app, name="segment")

Key = Annotated[str, typer.Argument(help="The flag's key.")]
ActorId = Annotated[str, typer.Argument(help="The actor's flipper_id.")]


@flags_app.command("list")
def list_flags(env: EnvOption = "production", as_json: JsonOption = False) -> None:
    """List an environment's flags with their state."""
    with user_errors():
        flags = open_store().list_flags(env)
    if as_json:
        emit_json([{**flag_document(f), "state": f.state} for f in flags])
        return
    table = Table("flag", "state", "gates", "description", title=f"flags in {env}")
    for flag in flags:
        table.add_row(flag.key, flag.state, flag_summary(flag), flag.description)
    console.print(table)


@flags_app.command("show")
def show(key: Key, env: EnvOption = "production", as_json: JsonOption = False) -> None:
    """Show one flag's gates and flagramp rules."""
    with user_errors():
        flag = open_store().require_flag(key, env)
    if as_json:
        emit_json({**flag_document(flag), "state": flag.state})
        return
    console.print(flag_table(flag, env))


@flags_app.command("create")
def create(
    key: Key,
    description: Annotated[
        str, typer.Option(metavar="TEXT", help="What the flag is for.")
    ] = "",
    env: EnvOption = "production",
    who: WhoOption = None,
    why: WhyOption = "",
) -> None:
    """Create a flag (off). An existing flag is left as it is."""
    if not key.strip() or key != key.strip():
        fail(f"invalid flag key {key!r}: empty or surrounded by spaces")
    with user_errors():
        flag = open_store().create_flag(
            Flag(key=key, description=description), author(who, why), env
        )
    console.print(f"{flag.key} in {env}: {flag.state}")


def _change(
    key: str, change: FlagChange, env: str, who: str | None, why: str, action: str
) -> None:
    with user_errors():
        flag = open_store().change_flag(key, change, author(who, why), env, action)
    console.print(f"{flag.key} in {env}: {flag.state} ({flag_summary(flag)})")


@flags_app.command("enable")
def enable(
    key: Key, env: EnvOption = "production", who: WhoOption = None, why: WhyOption = ""
) -> None:
    """Turn a flag fully on (Flipper: clears the other gates)."""
    _change(key, ops.enable, env, who, why, "enable")


@flags_app.command("disable")
def disable(
    key: Key, env: EnvOption = "production", who: WhoOption = None, why: WhyOption = ""
) -> None:
    """Turn a flag off for everyone (the kill switch: clears every gate)."""
    _change(key, ops.disable, env, who, why, "disable")


# An unknown option here is most likely a negative percentage (`percent KEY -5`):
# let it through to be refused as a percentage.
@flags_app.command("percent", context_settings={"ignore_unknown_options": True})
def percent(
    key: Key,
    percentage: Annotated[str, typer.Argument(help="0–100, up to 3 decimals.")],
    time: Annotated[
        bool, typer.Option("--time", help="Percentage of time, not of actors.")
    ] = False,
    env: EnvOption = "production",
    who: WhoOption = None,
    why: WhyOption = "",
) -> None:
    """Enable for a percentage of actors (stable) or of time (random per check)."""
    with user_errors():
        pct = Percentage.parse(percentage)
    if time:
        _change(
            key,
            lambda f: ops.set_percentage_of_time(f, pct),
            env,
            who,
            why,
            "percentage_of_time",
        )
    else:
        _change(
            key,
            lambda f: ops.set_percentage_of_actors(f, pct),
            env,
            who,
            why,
            "percentage_of_actors",
        )


@flags_app.command("expression")
def expression(
    key: Key,
    document: Annotated[
        str, typer.Argument(help='Flipper expression JSON, or "none".')
    ],
    env: EnvOption = "production",
    who: WhoOption = None,
    why: WhyOption = "",
) -> None:
    """Set (or remove, with "none") a Flipper expression gate."""
    if document == "none":
        _change(key, ops.remove_expression, env, who, why, "expression")
        return
    try:
        parsed: Json = json.loads(document)
    except json.JSONDecodeError as exc:
        fail(f"expression is not valid JSON: {exc.msg} at column {exc.colno}")
    except RecursionError:
        fail(
            "expression is nested too deeply to read "
            f"(at most {MAX_EXPRESSION_DEPTH} functions deep)"
        )
    if not isinstance(parsed, dict):
        fail('an expression is a JSON object such as {"Equal": [...]}')
    with user_errors():
        ops.set_expression(Flag(key=key), parsed)  # validate before opening the store
    _change(key, lambda f: ops.set_expression(f, parsed), env, who, why, "expression")


@flags_app.command("group")
def group(
    key: Key,
    name: Annotated[str, typer.Argument(help="Group (segment) name.")],
    remove: Annotated[bool, typer.Option("--remove", help="Remove the group.")] = False,
    env: EnvOption = "production",
    who: WhoOption = None,
    why: WhyOption = "",
) -> None:
    """Enable (or with --remove, disable) a Flipper group; groups are segments."""
    change = ops.remove_group if remove else ops.add_group
    _change(key, lambda f: change(f, name), env, who, why, "group")


@actor_app.command("add")
def actor_add(
    key: Key,
    actor: ActorId,
    env: EnvOption = "production",
    who: WhoOption = None,
    why: WhyOption = "",
) -> None:
    """Put an actor on the flag's allow list."""
    _change(key, lambda f: ops.add_actor(f, actor), env, who, why, "actor_add")


@actor_app.command("remove")
def actor_remove(
    key: Key,
    actor: ActorId,
    env: EnvOption = "production",
    who: WhoOption = None,
    why: WhyOption = "",
) -> None:
    """Take an actor off the flag's allow list."""
    _change(key, lambda f: ops.remove_actor(f, actor), env, who, why, "actor_remove")


@flags_app.command("deny")
def deny(
    key: Key,
    actor: ActorId,
    remove: Annotated[
        bool, typer.Option("--remove", help="Take the actor off the deny list.")
    ] = False,
    env: EnvOption = "production",
    who: WhoOption = None,
    why: WhyOption = "",
) -> None:
    """Keep an actor off whatever the gates say (a deny always wins)."""
    change = ops.undeny_actor if remove else ops.deny_actor
    _change(key, lambda f: change(f, actor), env, who, why, "deny")


@segment_app.command("define")
def segment_define(
    name: Annotated[str, typer.Argument(help="Segment name.")],
    rules: Annotated[
        list[str],
        typer.Argument(help='Rules, all must hold: "ehr in [oracle, cerner]".'),
    ],
    description: Annotated[
        str, typer.Option(metavar="TEXT", help="What the segment is.")
    ] = "",
    env: EnvOption = "production",
    who: WhoOption = None,
    why: WhyOption = "",
) -> None:
    """Create or replace a segment of actors by their properties."""
    with user_errors():
        segment = Segment.from_rules(name, unique(rules), description)
        open_store().put_segment(segment, author(who, why), env)
    console.print(f"segment {name} in {env}: {'; '.join(segment.rules())}")


@segment_app.command("list")
def segment_list(env: EnvOption = "production", as_json: JsonOption = False) -> None:
    """List the environment's segments."""
    with user_errors():
        segments = open_store().segments(env)
    if as_json:
        emit_json([segment_document(s) for s in segments.values()])
        return
    table = Table("segment", "rules", "description", title=f"segments in {env}")
    for segment in segments.values():
        table.add_row(segment.name, "; ".join(segment.rules()), segment.description)
    console.print(table)


@segment_app.command("apply")
def segment_apply(
    key: Key,
    segment: Annotated[
        str, typer.Argument(help='Eligibility segment, or "none" for everyone.')
    ],
    env: EnvOption = "production",
    who: WhoOption = None,
    why: WhyOption = "",
) -> None:
    """Limit a flag to a segment: its percentage then applies inside it only."""
    target = None if segment == "none" else segment
    with user_errors():
        known = open_store().segments(env)
    if target is not None and target not in known:
        fail(
            f"no segment {target!r} in environment {env!r}"
            + did_you_mean(target, known)
        )
    _change(key, lambda f: ops.set_eligibility(f, target), env, who, why, "eligibility")


@flags_app.command("history")
def history(
    key: Key, env: EnvOption = "production", as_json: JsonOption = False
) -> None:
    """Every change to a flag: who, when, why, before and after."""
    with user_errors():
        store = open_store()
        store.require_flag(key, env)
        entries = store.history(key, env)
    if as_json:
        emit_json(
            [
                {
                    "number": number,
                    "audit_row": e.id,
                    "at": e.at,
                    "who": e.actor,
                    "why": e.reason,
                    "action": e.action,
                    "before": json.loads(e.before) if e.before else None,
                    "after": json.loads(e.after) if e.after else None,
                }
                for number, e in enumerate(entries, start=1)
            ]
        )
        return
    console.print(history_table(key, entries))


@flags_app.command("stale")
def stale(
    older_than: Annotated[
        str,
        typer.Option(
            "--older-than",
            metavar="DURATION",
            help="Fully on for longer than this (30d, 2w, 1mo).",
        ),
    ] = "30d",
    env: EnvOption = "production",
    as_json: JsonOption = False,
) -> None:
    """Flags fully on for longer than a time with no plan running: ready to remove."""
    try:
        age = Duration.parse(older_than).delta
    except ValueError as exc:
        fail(f"--older-than: {exc}")
    with user_errors():
        rows = stale_rows(
            open_store(), env, now=dt.datetime.now(dt.UTC), older_than=age
        )
    if as_json:
        emit_json([r.to_json() for r in rows])
        return
    table = Table(
        "flag",
        "fully on since",
        "by",
        "days",
        "notes",
        title=f"flags in {env} fully on for over {older_than} or retired by a run, "
        "no plan running",
    )
    for row in rows:
        s, mark = row.stale, row.mark
        notes = []
        if mark is not None:
            notes.append(f"ready to remove (run {mark.run}, {mark.at:%Y-%m-%d})")
        if s is not None and s.eligibility:
            notes.append(f"eligible: {s.eligibility}")
        if s is not None and s.denied_actors:
            notes.append(f"{count(s.denied_actors, 'denied actor')}")
        table.add_row(
            row.key,
            "" if s is None else s.since.isoformat(),
            "" if s is None else s.by,
            "" if s is None else f"{s.days:.0f}",
            "; ".join(notes),
        )
    console.print(table)
    console.print(f"{count(len(rows), 'flag')} ready to remove")


@flags_app.command("export")
def export(
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="FILE", help="Write to a file."),
    ] = None,
    env: EnvOption = "production",
) -> None:
    """Export the environment's flags as Flipper's export JSON."""
    with user_errors():
        text = export_json(open_store(), env)
    if output is None:
        # The same document with every non-ASCII character escaped, so that no
        # right-to-left override in a key reaches a terminal raw.
        typer.echo(json.dumps(json.loads(text), separators=(",", ":")))
    else:
        output.write_text(text + "\n", encoding="utf-8")
        console.print(f"wrote {output}")


@flags_app.command("import")
def import_(
    path: Annotated[Path, typer.Argument(help="Flipper export JSON or features.yml.")],
    full_sync: Annotated[
        bool,
        typer.Option(help="Remove flags missing from the file (Flipper's import)."),
    ] = False,
    env: EnvOption = "production",
    who: WhoOption = None,
    why: WhyOption = "",
) -> None:
    """Import flags from a Flipper export or VA's features.yml (one transaction)."""
    with user_errors():
        text = read_import_file(path)
        store = open_store()
        if path.suffix in (".yml", ".yaml"):
            changed = import_features_yml(
                store, text, author(who, why), env, source=str(path)
            )
        else:
            changed = import_flipper(
                store,
                text,
                author(who, why),
                env,
                source=str(path),
                full_sync=full_sync,
            )
    console.print(f"imported {path}: {count(changed, 'flag')} changed in {env}")
