"""`flagramp flipper inspect` and `release`: Flipper's own tables, before adopting
them and after."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from flagramp.cli.commands import App
from flagramp.cli.connect import open_database, open_flipper
from flagramp.cli.options import (
    JsonOption,
    WhoOption,
    WhyOption,
    author,
    open_store,
)
from flagramp.cli.output import console, emit_json, user_errors
from flagramp.cli.text import count
from flagramp.core.flags import Flag, Segment
from flagramp.store import SqlFlagStore
from flagramp.store.documents import flag_document
from flagramp.store.flipper import parse_flag_store_url, release_flipper_tables
from flagramp.store.flipper.inspection import Inspection, inspect_flipper

flipper_app = App(
    help="Flipper's own tables: inspect them before adopting, release them."
)

StoreUrl = Annotated[
    str,
    typer.Argument(
        help="Flipper's database: flipper+sqlite:///app.db, "
        "flipper+postgresql+psycopg://…, flipper+mysql+pymysql://… "
        "(optional ?table_prefix=…&environment=…).",
    ),
]
CompareOption = Annotated[
    bool,
    typer.Option(
        "--compare",
        help="Also compare with flagramp's flags of the environment at "
        "FLAGRAMP_DATABASE_URL.",
    ),
]


@flipper_app.command("inspect")
def inspect(
    store_url: StoreUrl, compare: CompareOption = False, as_json: JsonOption = False
) -> None:
    """Show the features of a Flipper database (gates in words, which look like
    staged rollouts) and what adopting it would change. Reads only; writes
    nothing, in Flipper's database or flagramp's."""
    with user_errors():
        parsed = parse_flag_store_url(store_url)
        current: list[Flag] | None = None
        segments: dict[str, Segment] = {}
        if compare:
            store = open_store()
            current = store.list_flags(parsed.environment)
            segments = store.segments(parsed.environment)
        flipper = open_flipper(store_url)
        try:
            inspection = inspect_flipper(flipper, current=current, segments=segments)
        finally:
            flipper.dispose()
    if as_json:
        emit_json(_as_json(inspection))
        return
    _print(inspection)


Environment = Annotated[
    str, typer.Argument(help="The environment bound to Flipper's tables.")
]


@flipper_app.command("release")
def release(env: Environment, who: WhoOption = None, why: WhyOption = "") -> None:
    """End an environment's binding to Flipper's tables: its flags stay in
    flagramp's tables only, Flipper's rows stay as they are, writes still
    waiting are not made. Audited."""
    with user_errors():
        store = SqlFlagStore(open_database(migrate=True))
        done = release_flipper_tables(store, env, author(who, why))
    if done is None:
        console.print(f"environment {env!r} is not bound to Flipper's tables")
        return
    console.print(
        f"environment {env!r} is no longer Flipper's tables at {done.flipper_url}; "
        f"its flags stay in flagramp's tables "
        f"({count(done.dropped_writes, 'waiting write')} not made)"
    )


def _print(inspection: Inspection) -> None:
    features, gates = inspection.tables
    console.print(f"Flipper's tables at {inspection.url} ({features}, {gates})")
    console.print(
        f"value column: {inspection.value_type}: {inspection.flipper_versions}"
    )
    if inspection.collation:
        console.print(f"keys compare with {inspection.collation}")
    console.print(f"environment: {inspection.environment}")
    table = Table(
        "feature", "gates", "notes", title=count(len(inspection.features), "feature")
    )
    for feature in inspection.features:
        notes = [f"looks like {feature.rollout}"] if feature.rollout else []
        notes += feature.notes
        if feature.problem:
            notes.append(f"cannot be adopted: {feature.problem}")
        table.add_row(feature.key, "; ".join(feature.gates), "; ".join(notes))
    console.print(table)
    console.print("Adopting it would:")
    for sentence in inspection.adoption:
        console.print(f"  - {sentence}")


def _as_json(inspection: Inspection) -> dict[str, object]:
    return {
        "url": inspection.url,
        "environment": inspection.environment,
        "tables": list(inspection.tables),
        "value_type": inspection.value_type,
        "flipper_versions": inspection.flipper_versions,
        "collation": inspection.collation,
        "features": [
            {
                "key": f.key,
                "gates": list(f.gates),
                "rollout": f.rollout,
                "notes": list(f.notes),
                "adoptable": f.flag is not None,
                "problem": f.problem,
                "flag": None if f.flag is None else flag_document(f.flag),
            }
            for f in inspection.features
        ],
        "stray_rows": dict(inspection.stray_rows),
        "unknown_gates": dict(inspection.unknown_gates),
        "adoption": list(inspection.adoption),
    }
