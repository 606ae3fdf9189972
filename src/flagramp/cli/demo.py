"""`flagramp demo`: a release plan runs itself against simulated traffic.

What `make run` runs: the VAOS example plan in a fresh SQLite store
(`out/demo.db`), in virtual time against the simulator, with one regression
injected that the plan's own criteria must catch (by default the treatment's
error rate rises past the plan's limit in Phase III). The plan's people sign,
vote and approve re-enabling after the simulated fix; after go live the
simulated traffic runs on in day spans through both checkpoints, whose
questions the demo's people answer (marked as the demo's), and the run
completes. The demo then writes the release report (Markdown and HTML), the
KPIs at each checkpoint and each incident's report into `--out`
(`demo_reports`), and ends with a summary of every stage, the incident and
the files. `--serve` also serves the dashboard on the demo's store while the
run is paced for a person to watch (`demo_serve`); `--live` runs
`flagramp demo-live`'s code instead (`demo_live`).
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.live import Live

from flagramp.cli.demo_display import (
    event_line,
    incident_table,
    progress,
    summary_table,
)
from flagramp.cli.demo_engine import RememberedWindows, open_run_engine
from flagramp.cli.demo_injection import (
    describe_injection,
    injection_for,
    rollout_phases,
)
from flagramp.cli.demo_live import demo_live
from flagramp.cli.demo_loop import (
    DEMO_START,
    DemoSettings,
    DemoUpdate,
    Injection,
    StageRow,
    drive,
)
from flagramp.cli.demo_reports import WrittenReport, write_reports
from flagramp.cli.demo_serve import (
    DEFAULT_PACE,
    WATCHER,
    DemoServer,
    ServeFailed,
    interruptible,
    serve_until_interrupted,
    serving,
)
from flagramp.cli.output import console, fail, styled, user_errors
from flagramp.cli.plan import _print_problems, read_plan_text
from flagramp.cli.text import count
from flagramp.core.clock import VirtualClock
from flagramp.core.flags import Flag
from flagramp.core.plans import Plan, PlanInvalid, load_plan
from flagramp.sim import World
from flagramp.sim.examples import secure_messaging_world, uae_world, vaos_world
from flagramp.store import Author, SqlFlagStore

__all__ = ["DEFAULT_PLAN", "INJECTIONS", "demo", "world_for"]

DEFAULT_PLAN = Path("examples/vaos-service-integration.yaml")
#: What `--inject` may name: the regression and how far it moves.
INJECTIONS = {
    "errors": Injection("errors", amount=0.09),
    "abandonment": Injection("abandonment", amount=0.25),
}
SETUP = Author("flagramp-demo", "the demo's flags, as Flipper holds them before a run")


def world_for(plan: Plan, *, fast: bool) -> World:
    """The simulated world of an example plan (VAOS unless the name says else)."""
    # Fast: a quarter of the users and of the traffic (the plan's limits
    # still catch the injected regressions, with less power).
    share = 0.25 if fast else 0.5
    if "secure-messaging" in plan.name:
        return secure_messaging_world(int(120_000 * share), 250.0 * share)
    if "uae" in plan.name:
        return uae_world(int(60_000 * share), 200.0 * share)
    return vaos_world(int(200_000 * share), 400.0 * share)


def demo(
    plan_file: Annotated[
        Path | None,
        typer.Option(
            "--plan",
            metavar="FILE",
            help=(
                f"The release plan to run (YAML). Default: {DEFAULT_PLAN} "
                "(with --live: examples/app/plan.yaml)."
            ),
        ),
    ] = None,
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            metavar="DIR",
            help="Where the demo writes demo.db and the reports.",
        ),
    ] = Path("out"),
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url", metavar="URL", help="A database instead of out/demo.db."
        ),
    ] = None,
    seed: Annotated[
        int, typer.Option("--seed", metavar="N", help="The simulator's seed.")
    ] = 1,
    inject: Annotated[
        str,
        typer.Option(
            "--inject",
            metavar="KIND",
            help=f"The regression to inject: {', '.join(INJECTIONS)}.",
        ),
    ] = "errors",
    no_inject: Annotated[
        bool, typer.Option("--no-inject", help="Inject nothing: a healthy rollout.")
    ] = False,
    fast: Annotated[
        bool, typer.Option("--fast", help="Fewer users and longer spans (tests).")
    ] = False,
    serve: Annotated[
        bool,
        typer.Option(
            "--serve",
            help=(
                "Also serve the dashboard on the demo's store (loopback), print "
                "its URL and a viewer's token, pace the run, and keep serving "
                "after it until Ctrl-C."
            ),
        ),
    ] = False,
    port: Annotated[
        int,
        typer.Option(
            "--port",
            min=0,
            max=65535,
            metavar="PORT",
            help="With --serve: the port (default: a free one).",
        ),
    ] = 0,
    pace: Annotated[
        float | None,
        typer.Option(
            "--pace",
            min=0,
            metavar="SECONDS",
            help=(
                "With --serve: real seconds per turn of the run "
                f"(default {DEFAULT_PACE:g})."
            ),
        ),
    ] = None,
    live: Annotated[
        bool,
        typer.Option(
            "--live",
            help=(
                "Run a short plan in real time against the example app "
                "(examples/app) through the server, not the simulator."
            ),
        ),
    ] = False,
) -> None:
    """Run a release plan in virtual time against simulated traffic (with
    --serve, watched on the dashboard; with --live, in real time against the
    example app)."""
    with user_errors():
        if live:
            _refuse_with_live(serve=serve, pace=pace, port=port, fast=fast)
            demo_live(plan=plan_file, database_url=database_url)
            return
        if not serve and (pace is not None or port):
            fail(f"{'--pace' if pace is not None else '--port'} goes with --serve")
        if inject not in INJECTIONS and not no_inject:
            fail(f"--inject takes one of {', '.join(INJECTIONS)}, not {inject!r}")
        chosen = plan_file or DEFAULT_PLAN
        try:
            text = read_plan_text(chosen)
            plan = load_plan(text, str(chosen)).plan
        except PlanInvalid as exc:
            _print_problems(exc.problems)
            raise typer.Exit(1) from None
        if not rollout_phases(plan):
            fail(
                f"{chosen} has no rollout phase for the demo to simulate"
                + (
                    " (a promotion plan): run it with 'flagramp plan start "
                    f"{chosen} --as PERSON' and 'flagramp controller', or try "
                    "'flagramp promote FROM TO --yes'"
                    if plan.promotion is not None
                    else "; run it with 'flagramp plan start' instead"
                )
            )
        world = world_for(plan, fast=fast)
        settings = DemoSettings(
            seed=seed,
            injection=(
                None if no_inject else injection_for(plan, world, INJECTIONS[inject])
            ),
            short_span=30,
            long_span=480,
        )
        watch = Watch(port, DEFAULT_PACE if pace is None else pace) if serve else None
        try:
            _run(
                plan,
                text,
                chosen,
                out,
                database_url,
                settings,
                world=world,
                watch=watch,
            )
        except KeyboardInterrupt:
            # Only a served demo is stopped here; a plain one ends as every
            # command does on Ctrl-C.
            if watch is None:
                raise
            console.print("stopped before the run ended; the server is down")
            raise typer.Exit(130) from None
        except ServeFailed as exc:
            fail(str(exc))


@dataclass(frozen=True, slots=True)
class Watch:
    """How a served demo is watched: the server's port (0: a free one) and
    the real seconds each turn of the loop takes at least."""

    port: int
    pace: float


def _refuse_with_live(
    *, serve: bool, pace: float | None, port: int, fast: bool
) -> None:
    given = [
        name
        for name, on in (
            ("--serve", serve),
            ("--pace", pace is not None),
            ("--port", bool(port)),
            ("--fast", fast),
        )
        if on
    ]
    if given:
        fail(
            f"{given[0]} is for the simulated demo; --live always serves, in real "
            "time (its load options: flagramp demo-live --help)"
        )


def _run(
    plan: Plan,
    text: str,
    plan_file: Path,
    out: Path,
    database_url: str | None,
    settings: DemoSettings,
    *,
    world: World,
    watch: Watch | None = None,
) -> None:
    began = time.perf_counter()
    url = database_url or _fresh_sqlite(out)
    clock = VirtualClock(DEMO_START)
    store = SqlFlagStore.open(url, clock=clock)
    windows = RememberedWindows(store.engine)
    for key in plan.flags:
        if store.get_flag(key, plan.environment) is None:
            store.create_flag(Flag(key=key), SETUP, plan.environment)
    engine = open_run_engine(store, windows, clock)
    log: list[str] = []
    with contextlib.ExitStack() as stack:
        server = None
        if watch is not None:
            stack.enter_context(interruptible())
            server = stack.enter_context(serving(store, clock, watch.port))
            _print_login(server)
        with Live(console=console, refresh_per_second=8, transient=False) as live:

            def show(update: DemoUpdate) -> None:
                log.extend(event_line(e) for e in update.events)
                live.update(progress(plan, update, log))
                if watch is not None and watch.pace:
                    # Paced so that a person can follow it on the dashboard.
                    time.sleep(watch.pace)

            run, rows = drive(
                engine,
                store,
                windows,
                clock,
                plan,
                text,
                str(plan_file),
                world,
                settings,
                show,
            )
        console.print(summary_table(plan, rows))
        _line(_injection_line(plan, settings.injection, world, rows))
        incidents = engine.incidents(run)
        if incidents:
            console.print(incident_table(incidents))
        state = engine.state(run)
        written = write_reports(run, windows, out, clock.now())
        _print_files(written)
        took = time.perf_counter() - began
        console.print(
            f"run {run}: {state.status.value.replace('_', ' ')} after "
            f"{(clock.now() - DEMO_START).total_seconds() / 86_400:.1f} virtual days "
            f"in {took:.1f} s"
        )
        left = [p for w in written for p in w.placeholders]
        if left:
            fail(
                f"{count(len(left), 'placeholder')} "
                f"{'remains' if len(left) == 1 else 'remain'} in the reports, first: "
                f"{left[0].text!r}"
            )
        if server is not None:
            _line(f"the dashboard stays up at {server.url}/dashboard; Ctrl-C stops it")
            serve_until_interrupted(server)
            _line("stopped")


def _injection_line(
    plan: Plan, injection: Injection | None, world: World, rows: list[StageRow]
) -> str:
    """What was injected, or that the run never reached the stage it waits for."""
    line = describe_injection(plan, injection, world)
    if injection is not None and not any(
        (r.phase, r.stage) == (injection.phase, injection.stage) for r in rows
    ):
        line += "; the run never reached that stage, so nothing was injected"
    return line


def _print_login(server: DemoServer) -> None:
    """Where to watch and how to log in, each on one unwrapped line (the URL
    and the token must survive a narrow terminal whole)."""
    _line(f"dashboard: {server.dashboard}")
    _line(
        f"log in with this token (a viewer, {WATCHER}: every page, no changes): "
        f"{server.token}"
    )
    _line(
        f"API: curl -H 'Authorization: Bearer {server.token}' {server.url}/api/v1/runs"
    )


def _line(text: str) -> None:
    console.print(text, soft_wrap=True, highlight=False)


def _print_files(written: list[WrittenReport]) -> None:
    console.print(styled("reports", "bold"))
    for w in written:
        mark = (
            ""
            if not w.placeholders
            else f"  ({count(len(w.placeholders), 'placeholder')})"
        )
        console.print(f"  {w.path}  {w.what}{mark}")


def _fresh_sqlite(out: Path) -> str:
    out.mkdir(parents=True, exist_ok=True)
    path = out / "demo.db"
    for stale in (
        path,
        path.with_name(path.name + "-wal"),
        path.with_name(path.name + "-shm"),
    ):
        stale.unlink(missing_ok=True)
    return f"sqlite:///{path}"
