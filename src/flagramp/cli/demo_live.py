"""`flagramp demo --live` (and `demo-live`, which also takes the load's
options): a short plan run in real time against a real app.

It makes a fresh SQLite store (unless `--database-url` names one), issues the
app an SDK token, starts `examples/app/plan.yaml`, and starts three processes
on free loopback ports: the server (`flagramp serve --controller`), the
example app (`examples/app/app.py`, under uvicorn) and its load script. The
app's SDK sends exposures and request outcomes to the server's events
endpoint, which puts them into the run's windows; the controller moves the run
on. Progress is printed until the run ends or `--timeout` passes; every process
is stopped on the way out, Ctrl-C included.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Annotated

import httpx
import typer

from flagramp.cli.output import console, fail, user_errors
from flagramp.core.clock import SystemClock
from flagramp.engine.controller import ACTIVE
from flagramp.engine.service import RunService
from flagramp.store import Author, SqlFlagStore
from flagramp.store.tokens import OwnerKind, Permission, TokenStore
from flagramp.store.windows import WindowStore

#: The example app's folder in a checkout of the repository.
APP_DIR = Path(__file__).resolve().parents[3] / "examples" / "app"
#: Who starts the demo's run (a person of the example plan's roles).
PERSON = "eng@example.com"
#: Statuses in which the run waits for a person: the demo ends there.
FOR_PEOPLE = ("paused", "rolled_back", "awaiting_go_no_go")
#: How long a process gets to stop after SIGTERM before it is killed.
STOP_SECONDS = 5.0


@dataclasses.dataclass(frozen=True, slots=True)
class LiveOptions:
    """What one live demo runs with."""

    plan: Path
    app_dir: Path
    database_url: str
    users: int
    rate: float
    error_rate: float
    timeout: float
    interval: float


@dataclasses.dataclass(slots=True)
class Progress:
    """What the demo last saw of the run."""

    status: str = ""
    stage: str | None = None
    events: int = 0


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def flagramp_command() -> list[str]:
    """The `flagramp` console script beside this interpreter."""
    script = Path(sys.executable).with_name("flagramp")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from flagramp.cli.app import main; main()"]


def wait_until_up(url: str, deadline: float, process: subprocess.Popen[str]) -> None:
    """Wait for `url` to answer 200; raises RuntimeError if the process died or
    the deadline passed first."""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with {process.returncode} before ready")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer in time")


class Processes:
    """Child processes, each stopped (SIGTERM, then SIGKILL) on `stop_all`."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.started: list[tuple[str, subprocess.Popen[str], IO[str]]] = []

    def start(
        self, name: str, argv: Sequence[str], env: Mapping[str, str]
    ) -> subprocess.Popen[str]:
        """Start `argv`; its output goes to `<log_dir>/<name>.log`."""
        log = (self.log_dir / f"{name}.log").open("w")
        process = subprocess.Popen(
            list(argv),
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            # Its own process group: a Ctrl-C reaches the demo, which stops it.
            start_new_session=True,
        )
        self.started.append((name, process, log))
        return process

    def stop_all(self) -> None:
        """Stop every process, the last started first."""
        for _name, process, log in reversed(self.started):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(STOP_SECONDS)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            log.close()
        self.started.clear()


def issue_sdk_token(store: SqlFlagStore, environment: str) -> str:
    """An SDK token for the example app."""
    issued = TokenStore(store).issue(
        owner="example-app",
        owner_kind=OwnerKind.SERVICE,
        permission=Permission.SDK,
        environment=environment,
        description="flagramp demo-live: the example app",
        author=Author(PERSON, "demo-live"),
    )
    return issued.token


@dataclasses.dataclass(frozen=True, slots=True)
class LiveRun:
    """A started demo: its run, and the service and windows to read it by."""

    service: RunService
    windows: WindowStore
    run: str
    deadline: float
    app_url: str


def run_live(options: LiveOptions, log_dir: Path) -> Progress:
    """Run the demo; returns what it last saw of the run."""
    with live_stack(options, log_dir) as live:
        return watch(live.service, live.run, live.deadline)


@contextlib.contextmanager
def live_stack(options: LiveOptions, log_dir: Path) -> Iterator[LiveRun]:
    """The run started, and the server, app and load running, until exit."""
    store = SqlFlagStore.open(options.database_url)
    windows = WindowStore(store.engine)
    service = RunService(store, windows, SystemClock())
    text = options.plan.read_text()
    row = service.start(text, person=PERSON, file=str(options.plan))
    token = issue_sdk_token(store, row.environment)
    server_port, app_port = free_port(), free_port()
    server_url = f"http://127.0.0.1:{server_port}"
    app_url = f"http://127.0.0.1:{app_port}"
    env = {**os.environ, "FLAGRAMP_DATABASE_URL": options.database_url}
    children = Processes(log_dir)
    deadline = time.monotonic() + options.timeout
    console.print(f"run {row.id} of {row.plan_name} started; logs in {log_dir}")
    try:
        serve = [
            *flagramp_command(),
            "serve",
            "--port",
            str(server_port),
            "--controller",
            "--interval",
            str(options.interval),
        ]
        server = children.start("server", serve, env)
        wait_until_up(f"{server_url}/healthz", time.monotonic() + 30, server)
        console.print(f"server on {server_url} (dashboard: {server_url}/dashboard)")
        app_env = {
            **env,
            "FLAGRAMP_URL": server_url,
            "FLAGRAMP_SDK_TOKEN": token,
            "FLAGRAMP_ENVIRONMENT": row.environment,
            "APP_ERROR_RATE": str(options.error_rate),
        }
        uvicorn_argv = [sys.executable, "-m", "uvicorn", "app:app"]
        app = children.start(
            "app",
            [
                *uvicorn_argv,
                "--app-dir",
                str(options.app_dir),
                "--port",
                str(app_port),
                "--log-level",
                "warning",
            ],
            app_env,
        )
        wait_until_up(f"{app_url}/health", time.monotonic() + 30, app)
        console.print(f"example app on {app_url}")
        load = [
            sys.executable,
            str(options.app_dir / "load.py"),
            "--url",
            app_url,
            "--users",
            str(options.users),
            "--rate",
            str(options.rate),
            "--seconds",
            str(max(1.0, deadline - time.monotonic())),
        ]
        children.start("load", load, env)
        yield LiveRun(service, windows, row.id, deadline, app_url)
    finally:
        children.stop_all()


def watch(service: RunService, run: str, deadline: float) -> Progress:
    """Print the run's progress until it ends or the deadline passes."""
    seen = Progress()
    while True:
        view = service.show(run)
        status, stage = view.row.status, view.stage
        if (status, stage) != (seen.status, seen.stage):
            where = f" at {view.phase} / {stage}" if stage else ""
            waiting = f" (waiting for {view.waiting_for})" if view.waiting_for else ""
            console.print(f"{time.strftime('%H:%M:%S')} {status}{where}{waiting}")
            seen.status, seen.stage = status, stage
        if status in FOR_PEOPLE or status not in ACTIVE:
            return seen
        if time.monotonic() >= deadline:
            return seen
        time.sleep(1.0)


@contextlib.contextmanager
def log_folder() -> Iterator[Path]:
    """A folder for the processes' logs, kept (they tell what went wrong)."""
    yield Path(tempfile.mkdtemp(prefix="flagramp-live-"))


def demo_live(
    plan: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="Default: examples/app/plan.yaml."),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(metavar="URL", help="Default: a fresh SQLite file."),
    ] = None,
    users: Annotated[int, typer.Option(min=1, metavar="N")] = 300,
    rate: Annotated[
        float, typer.Option(min=1, metavar="PER_SECOND", help="Requests a second.")
    ] = 40.0,
    error_rate: Annotated[
        float,
        typer.Option(
            min=0, max=1, metavar="SHARE", help="New-path requests that fail."
        ),
    ] = 0.0,
    timeout: Annotated[
        float, typer.Option(min=5, metavar="SECONDS", help="Stop after this long.")
    ] = 300.0,
    interval: Annotated[
        float, typer.Option(min=0.1, metavar="SECONDS", help="Between ticks.")
    ] = 2.0,
) -> None:
    """Run a short plan in real time against the example app, through the server."""
    chosen = plan or APP_DIR / "plan.yaml"
    if not (APP_DIR / "app.py").exists():
        fail(f"the example app is not at {APP_DIR}: run this from a checkout")
    with log_folder() as logs:
        url = database_url or f"sqlite:///{logs / 'demo.db'}"
        options = LiveOptions(
            chosen, APP_DIR, url, users, rate, error_rate, timeout, interval
        )
        try:
            with user_errors():
                seen = run_live(options, logs)
        except KeyboardInterrupt:
            console.print("stopped; every process of the demo is down")
            raise typer.Exit(130) from None
        except RuntimeError as exc:
            fail(f"{exc}; see the logs in {logs}")
    if seen.status in FOR_PEOPLE:
        console.print(f"the run is {seen.status}: it waits for a person now")
        return
    if seen.status in ACTIVE:
        fail(f"the run is still {seen.status} after {timeout:g} s")
    console.print(f"the run ended {seen.status}")
