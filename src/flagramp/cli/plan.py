"""`flagramp plan …`: validate, lint, show, schema, new, diff.

Thin commands: read files, call `flagramp.core.plans`, print. Problems print as
`file:line:column: field: message` with the fix hint on the next line.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.tree import Tree

from flagramp.cli.commands import App
from flagramp.cli.files import read_limited
from flagramp.cli.output import (
    EXIT_ERROR,
    console,
    emit_json,
    err_console,
    fail,
    styled,
    user_errors,
)
from flagramp.cli.plan_import import register_import_markdown
from flagramp.cli.text import count, shown
from flagramp.core.clock import SystemClock
from flagramp.core.plans import (
    LoadedPlan,
    ManualPhase,
    Plan,
    PlanInvalid,
    PlanTooLarge,
    Problem,
    detectability,
    diff,
    lint,
    load_plan,
    new_plan,
    plan_schema,
    project,
)
from flagramp.core.plans.compose import MAX_BYTES, size_problem
from flagramp.core.plans.detectability import Detectability
from flagramp.core.plans.lint import unloaded_placeholders
from flagramp.core.plans.percentages import show_number
from flagramp.core.plans.problems import sort_problems
from flagramp.engine.power import detectable_effect
from flagramp.store import SqlFlagStore

plan_app = App(help="Release plans: validate, lint, show, diff, import from Markdown.")

FileArg = Annotated[Path, typer.Argument(help="A plan file (YAML).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def read_plan(path: Path) -> LoadedPlan:
    """Read and load one plan file; raises PlanInvalid with file problems too."""
    return load_plan(read_plan_text(path), str(path))


def read_plan_text(path: Path) -> str:
    """The text of a plan file; raises PlanInvalid when it cannot be read."""
    name = str(path)
    try:
        read = read_limited(path, MAX_BYTES)
    except OSError as exc:
        raise PlanInvalid(
            [_file_problem(name, f"cannot read: {exc.strerror}")]
        ) from None
    if read.is_over(MAX_BYTES):
        if read.size is not None:
            raise PlanTooLarge([size_problem(name, read.size)])
        message = f"the file holds more than {MAX_BYTES} bytes, a plan's limit"
        raise PlanTooLarge([_file_problem(name, message)])
    try:
        text = read.data.decode("utf-8")
    except UnicodeDecodeError:
        raise PlanInvalid([_file_problem(name, "is not UTF-8 text")]) from None
    return text


def _file_problem(name: str, message: str) -> Problem:
    return Problem(name, 1, 1, "", message)


def _print_problems(problems: tuple[Problem, ...] | list[Problem]) -> None:
    for problem in problems:
        # Errors go to stderr like every other error; warnings are lint's output.
        is_error = problem.level.value == "error"
        out = err_console if is_error else console
        label = styled(f"{problem.level.value}:", "red" if is_error else "yellow")
        out.print(label, str(problem))
        if problem.hint:
            out.print(f"    hint: {problem.hint}")


@plan_app.command()
def validate(
    files: Annotated[list[Path], typer.Argument(help="Plan files.")],
    as_json: JsonOpt = False,
) -> None:
    """Check plans; exit 1 if any has problems."""
    results: list[dict[str, object]] = []
    failed = False
    for path in files:
        try:
            loaded = read_plan(path)
        except PlanInvalid as exc:
            failed = True
            results.append(
                {
                    "file": str(path),
                    "valid": False,
                    "problems": [p.to_json() for p in exc.problems],
                }
            )
            if not as_json:
                _print_problems(exc.problems)
            continue
        stages = sum(len(p.stages) for _, p in loaded.plan.rollout_phases())
        results.append({"file": str(path), "valid": True, "problems": []})
        if not as_json:
            phases = count(len(loaded.plan.phases), "phase")
            console.print(
                styled("ok:", "green"), f"{path}: {phases}, {count(stages, 'stage')}"
            )
    if as_json:
        emit_json({"valid": not failed, "files": results})
    if failed:
        raise typer.Exit(EXIT_ERROR)


@plan_app.command("lint")
def lint_command(
    file: FileArg,
    as_json: JsonOpt = False,
    env: Annotated[
        str | None,
        typer.Option(
            "--env", "-e", help="Environment of the flags (default: the plan's)."
        ),
    ] = None,
) -> None:
    """Warn about likely mistakes; exit 1 only if the plan is invalid.

    With a store configured (FLAGRAMP_DATABASE_URL, or flagramp.db here), the
    flags' current state is read from it.
    """
    text = ""
    try:
        text = read_plan_text(file)
        loaded = load_plan(text, str(file))
    except PlanInvalid as exc:
        problems = list(exc.problems)
        if text and not isinstance(exc, PlanTooLarge):
            # Left-over placeholders too, so one run lists a draft's every TBD.
            problems = sort_problems(
                [*problems, *unloaded_placeholders(text, str(file), problems)]
            )
        if as_json:
            emit_json({"valid": False, "problems": [p.to_json() for p in problems]})
        else:
            _print_problems(problems)
        raise typer.Exit(EXIT_ERROR) from None
    with user_errors():
        states = flag_states(loaded.plan, env or loaded.plan.environment)
    warnings = lint(loaded, states, detectable_effect)
    power = detectability(loaded.plan, detectable_effect)
    if as_json:
        emit_json(
            {
                "valid": True,
                "problems": [w.to_json() for w in warnings],
                "detectability": [_power_json(row) for row in power],
            }
        )
        return
    if power:
        console.print(_power_table(power))
        if any(row.effect is None for row in power):
            console.print(
                "* unknown: the plan gives no traffic, or no `typical` value for "
                "the metric (needed for comparisons), or the metric is a mean"
            )
    _print_problems(warnings)
    console.print(f"{file}: {count(len(warnings), 'warning')}")


def _power_json(row: Detectability) -> dict[str, object]:
    q, effect = row.query, row.effect
    return {
        "phase": q.phase,
        "stage": q.stage,
        "criterion": q.criterion,
        "mde": q.mde,
        "unit": q.unit.value,
        "detectable": None if effect is None or math.isinf(effect) else effect,
        "catches_mde": row.catches_mde,
    }


def _power_table(rows: list[Detectability]) -> Table:
    table = Table(
        "phase", "stage", "criterion", "must catch", "can detect in the hold",
        title="What each stage can detect at the plan's traffic",
    )  # fmt: skip
    for row in rows:
        q, effect = row.query, row.effect
        unit = " pt" if q.unit.value == "points" else " %"
        if effect is None:
            seen = "unknown*"
        elif math.isinf(effect):
            seen = "nothing within the hold"
        else:
            seen = f"{show_number(round(effect, 3))}{unit}"
        table.add_row(
            q.phase, q.stage, q.criterion, f"{show_number(q.mde)}{unit}", seen
        )
    return table


@plan_app.command()
def show(
    file: FileArg,
    start: Annotated[
        str | None,
        typer.Option(
            metavar="TIME",
            help="Projected start, ISO 8601 (default: first window or now).",
        ),
    ] = None,
) -> None:
    """Show a plan as a tree and its projected timeline."""
    with user_errors():
        loaded = _load_or_exit(file)
        plan = loaded.plan
        begin = _start(start, loaded)
        timeline = project(plan, begin)
    console.print(_tree(loaded))
    table = Table(
        title="Projected timeline "
        f"(earliest finish {timeline.finish:%Y-%m-%d %H:%M %Z})"
    )
    for column in ("phase", "stage", "%", "start", "end", "length set by"):
        table.add_column(column)
    for step in timeline.steps:
        pct = "" if step.percentage is None else show_number(step.percentage)
        table.add_row(
            step.phase,
            step.stage,
            pct,
            f"{step.start:%Y-%m-%d %H:%M}",
            f"{step.end:%Y-%m-%d %H:%M}",
            step.why,
        )
    console.print(table)


@plan_app.command()
def schema() -> None:
    """Print the plan JSON Schema (save it for editor completion)."""
    emit_json(plan_schema())


@plan_app.command()
def new(
    name: Annotated[
        str, typer.Option(metavar="NAME", help="The plan's short name.")
    ] = "my-release",
    flag: Annotated[
        str, typer.Option(metavar="KEY", help="The flag to roll out.")
    ] = "my_feature",
    users_per_day: Annotated[
        int, typer.Option(min=1, metavar="N", help="Expected eligible users per day.")
    ] = 20_000,
    schema_url: Annotated[
        str,
        typer.Option(
            metavar="URL", help="Where the JSON Schema is, for the editor comment."
        ),
    ] = "plan.schema.json",
) -> None:
    """Print a new plan with VA's usual ladder (canary, 25, 50, 75, 100 %)."""
    with user_errors():
        text = new_plan(name, flag, users_per_day, schema_url)
        load_plan(text, "new.yaml")  # never hand out a template that does not load
    typer.echo(text, nl=False)


@plan_app.command("diff")
def diff_command(
    old: Annotated[Path, typer.Argument(help="The running revision.")],
    new: Annotated[Path, typer.Argument(help="The proposed revision.")],
    passed: Annotated[
        list[str] | None,
        typer.Option(
            "--passed",
            metavar="PHASE/STAGE",
            help="A stage the run has passed (repeatable).",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Describe what a revision changes; flag changes that weaken a running plan."""
    refs: list[tuple[str, str]] = []
    for item in passed or []:
        phase, sep, stage = item.partition("/")
        if not sep or not phase or not stage:
            fail(f"--passed {item!r}: write it as PHASE/STAGE")
        refs.append((phase, stage))
    before = _load_or_exit(old).plan
    after = _load_or_exit(new).plan
    changes = diff(before, after, refs)
    if as_json:
        emit_json(
            [
                {
                    "where": c.where,
                    "text": c.text,
                    "flagged": c.flagged,
                    "reason": c.reason,
                }
                for c in changes
            ]
        )
        return
    if not changes:
        console.print("no changes")
    for change in changes:
        console.print(str(change), style="bold red" if change.flagged else None)
    flagged = sum(c.flagged for c in changes)
    if flagged:
        console.print(
            f"{count(flagged, 'flagged change')} "
            f"{'weakens' if flagged == 1 else 'weaken'} the running plan",
            style="red",
        )


def flag_states(plan: Plan, environment: str) -> dict[str, float] | None:
    """The plan's flags' percentages in the configured store, or None without one.

    Rationale: linting must never create a database; only a store that is
    configured (or already there) is read. A flag fully on reads as 100.
    """
    url = os.environ.get("FLAGRAMP_DATABASE_URL")
    if not url and not Path("flagramp.db").exists():
        return None
    store = SqlFlagStore.open(url or None)
    states: dict[str, float] = {}
    for key in plan.flags:
        flag = store.get_flag(key, environment)
        if flag is None:
            continue
        pct = flag.percentage_of_actors
        states[key] = 100.0 if flag.is_fully_on else (pct.value if pct else 0.0)
    return states


def _load_or_exit(file: Path) -> LoadedPlan:
    try:
        return read_plan(file)
    except PlanInvalid as exc:
        _print_problems(exc.problems)
        raise typer.Exit(EXIT_ERROR) from None


def _start(text: str | None, loaded: LoadedPlan) -> dt.datetime:
    if text is not None:
        try:
            when = dt.datetime.fromisoformat(text)
        except ValueError:
            fail(f"--start {text!r} is not an ISO 8601 date or time")
        return when if when.tzinfo else when.replace(tzinfo=dt.UTC)
    phases = loaded.plan.phases
    first = phases[0].window if phases else None
    if first is not None:
        return dt.datetime.combine(first.start, dt.time(9), dt.UTC)
    return SystemClock().now()


def _tree(loaded: LoadedPlan) -> Tree:
    plan = loaded.plan
    title = styled(plan.title, "bold")
    title.append(shown(f" ({plan.name}, revision {plan.revision})"))
    tree = Tree(title)
    tree.add(
        f"owner {plan.owner}, product owner {plan.product_owner}, "
        f"env {plan.environment}"
    )
    if plan.prerequisites:
        node = tree.add("prerequisites")
        for item in plan.prerequisites:
            node.add(f"{item.text} — signed by {item.signed_by}", highlight=False)
    phases = tree.add("phases")
    for phase in plan.phases:
        if isinstance(phase, ManualPhase):
            label = styled(phase.name, "bold")
            label.append(shown(f" (manual, owner {phase.owner}, watch {phase.watch})"))
            node = phases.add(label)
            for check in phase.checklist:
                node.add(check.text)
            continue
        # A phase named after its flag ("Phase I: va_online_…") says it once.
        flags = ", ".join(f for f in phase.flags if f not in phase.name)
        label = styled(phase.name, "bold")
        if flags:
            label.append(shown(f": {flags}"))
        node = phases.add(label)
        for stage in phase.stages:
            gate = (
                f", go/no-go {', '.join(stage.go_no_go.roles)}"
                if stage.go_no_go
                else ""
            )
            leaf = node.add(
                f"{stage.name}: {show_number(stage.percentage)} % "
                f"for {stage.hold}{gate}"
            )
            for criterion in stage.criteria:
                leaf.add(criterion.describe())
            for question in stage.record.questions:
                leaf.add(f"? {question.text}")
    if plan.promotion is not None:
        promotion = tree.add("promotion")
        for step in plan.promotion.steps:
            parts = ["backup"] if step.takes_backup else []
            if step.go_no_go:
                roles = ", ".join(step.go_no_go.roles)
                parts.append(f"go/no-go {roles}, on No-Go {step.on_no_go}")
            promotion.add(f"{step.environment}: {'; '.join(parts) or 'deploy'}")
    if plan.rollback is not None:
        policy = tree.add("rollback")
        for severity, rule in plan.rollback.severities.items():
            policy.add(f"{severity.value}: {rule.action.value}")
    if plan.go_live is not None:
        live = tree.add("go live")
        for kpi in plan.go_live.kpis:
            live.add(f"KPI {kpi.name}: {kpi.description} {kpi.target()}".rstrip())
        for checkpoint in plan.go_live.checkpoints:
            live.add(f"checkpoint {checkpoint.name} after {checkpoint.after}")
    return tree


# `import-markdown` is a command of its own module; it joins the others here.
register_import_markdown(plan_app)

__all__ = ["flag_states", "plan_app", "read_plan", "read_plan_text"]
