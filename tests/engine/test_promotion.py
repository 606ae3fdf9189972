"""Seed 004's TMP promotion QA → pre-prod → production: Go at each step; a No-Go
at production writes the snapshot back exactly, audited, and verifies again."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import httpx
import pytest

from flagramp.core.flags import Flag, Percentage, Segment
from flagramp.core.plans import (
    Answer,
    HttpProbe,
    Plan,
    PromotionStep,
    load_plan,
)
from flagramp.engine.probes import HookRegistry, ProbeResult
from flagramp.engine.promotion import (
    StepOutcome,
    copy_writes,
    overruns,
    source_of,
    step_outcome,
)
from flagramp.engine.promotion_runner import run_step
from flagramp.store import Author, SqlFlagStore

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tmp-deployment.yaml"
OPS = Author("ops@va.gov", "promotion")
T0 = dt.datetime(2023, 7, 26, 22, tzinfo=dt.UTC)


class _Health(BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        _Health.hits.append(self.path)
        self.send_response(200 if self.path == "/health" else 503)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = HTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    _Health.hits = []
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def plan() -> Plan:
    return load_plan(EXAMPLE.read_text(), EXAMPLE.name).plan


@pytest.fixture
def store(tmp_path: Path) -> SqlFlagStore:
    store = SqlFlagStore.open(f"sqlite:///{tmp_path / 'promote.db'}")
    oracle = Segment.from_rules("oracle", ["ehr == 'oracle'"])
    store.put_segment(oracle, OPS, "qa")
    release = Flag("tmp_new_scheduler", description="the release")
    store.create_flag(release, OPS, "qa")
    store.change_flag(
        "tmp_new_scheduler",
        lambda f: Flag(
            f.key,
            percentage_of_actors=Percentage.parse(100),
            eligibility="oracle",
            description=f.description,
        ),
        OPS,
        "qa",
    )
    store.create_flag(Flag("tmp_banner", boolean=True), OPS, "qa")
    # Production has its own state: an old flag at 20 % and a segment of its own.
    vista = Segment.from_rules("vista", ["ehr == 'vista'"])
    store.put_segment(vista, OPS, "production")
    store.create_flag(Flag("tmp_banner"), OPS, "production")
    store.change_flag(
        "tmp_banner",
        lambda f: Flag(f.key, percentage_of_actors=Percentage.parse(20)),
        OPS,
        "production",
    )
    store.create_flag(Flag("prod_only", boolean=True), OPS, "production")
    for env in ("pre-prod",):
        store.create_flag(Flag("placeholder"), OPS, env)
    return store


def _hooks(calls: list[tuple[str, str]]) -> HookRegistry:
    hooks = HookRegistry()
    for name in ("tmp_verification_tests", "backup", "restore"):

        def hook(args: object, name: str = name) -> tuple[bool, str]:
            assert isinstance(args, dict)
            calls.append((name, str(args.get("environment"))))
            return True, f"{name} ok"

        hooks.register(name, hook)
    return hooks


def _with_http(step: PromotionStep, url: str) -> PromotionStep:
    probe = HttpProbe.model_validate({"kind": "http", "url": f"{url}/health"})
    return step.model_copy(update={"verify": (*step.verify, probe)})


def _state(store: SqlFlagStore, env: str) -> tuple[list[Flag], dict[str, Segment]]:
    return store.list_flags(env), store.segments(env)


def _promote(
    store: SqlFlagStore,
    plan: Plan,
    url: str,
    calls: list[tuple[str, str]],
    answer: Answer,
) -> list[StepOutcome]:
    assert plan.promotion is not None
    environments = [e.name for e in plan.environments]
    outcomes = []
    for i in (1, 2):
        step = _with_http(plan.promotion.steps[i], url)
        given = [answer] if i == 2 else [Answer.LAUNCH]
        source = source_of(plan.promotion, environments, i)
        report = run_step(
            store,
            step,
            source,
            hooks=_hooks(calls),
            client=httpx.Client(),
            author=OPS,
            answers=lambda _, given=given: given,  # type: ignore[misc]
            now=lambda: T0,
        )
        assert report.source == source and report.target == step.environment
        outcomes.append(report.outcome)
        last = report
    assert last.snapshot.environment == "production"
    return outcomes


def test_go_at_each_step_brings_qa_s_flags_to_production(
    store: SqlFlagStore, plan: Plan, server: str
) -> None:
    calls: list[tuple[str, str]] = []
    qa_flags, qa_segments = _state(store, "qa")
    assert _promote(store, plan, server, calls, Answer.LAUNCH) == [
        StepOutcome.GO,
        StepOutcome.GO,
    ]
    for env in ("pre-prod", "production"):
        flags = {f.key: f for f in store.list_flags(env)}
        for flag in qa_flags:
            assert flags[flag.key] == flag
        assert store.segments(env)["oracle"] == qa_segments["oracle"]
    # The target's own flags stay.
    assert store.require_flag("prod_only", "production").boolean
    # Production backs up first (the application's hook); qa and pre-prod do not.
    assert ("backup", "production") in calls
    assert ("backup", "pre-prod") not in calls
    assert calls.count(("tmp_verification_tests", "production")) == 1
    assert ("restore", "production") not in calls
    assert _Health.hits == ["/health", "/health"]
    assert store.verify_audit().ok


def test_no_go_at_production_restores_its_flags_and_segments_exactly(
    store: SqlFlagStore, plan: Plan, server: str
) -> None:
    calls: list[tuple[str, str]] = []
    before = _state(store, "production")
    outcomes = _promote(store, plan, server, calls, Answer.PIVOT)
    assert outcomes == [StepOutcome.GO, StepOutcome.NO_GO]
    assert _state(store, "production") == before
    # pre-prod keeps its Go.
    assert store.require_flag("tmp_new_scheduler", "pre-prod").eligibility == "oracle"
    report = store.verify_audit()
    assert report.ok, report.problems
    restores = [
        e
        for e in store.audit_entries()
        if e.entity_kind == "snapshot" and e.action == "restore"
    ]
    assert len(restores) == 1 and restores[0].environment == "production"
    changed = [
        e
        for e in store.audit_entries()
        if e.environment == "production" and e.reason.startswith("No-Go")
    ]
    assert changed, "the restore's changes are audited as new rows"
    # The restore hook ran, then the probes again (hook and HTTP).
    assert calls[-2:] == [
        ("restore", "production"),
        ("tmp_verification_tests", "production"),
    ]
    assert _Health.hits == ["/health", "/health", "/health"]


def test_a_probe_failing_or_an_unknown_hook_holds_a_launch(plan: Plan) -> None:
    assert plan.promotion is not None
    step = plan.promotion.steps[2]
    ok = ProbeResult("hook x", True, "", T0)
    bad = HookRegistry().run("rm -rf /", {}, T0)
    assert not bad.ok and "no hook" in bad.detail
    assert step_outcome(step, [ok], [Answer.LAUNCH, Answer.LAUNCH]) is StepOutcome.GO
    assert step_outcome(step, [ok, bad], [Answer.LAUNCH]) is StepOutcome.HOLD
    assert step_outcome(step, [ok], [Answer.LAUNCH, Answer.PAUSE]) is StepOutcome.HOLD
    assert step_outcome(step, [ok], [Answer.PAUSE, Answer.PIVOT]) is StepOutcome.NO_GO
    assert step_outcome(step, [ok], []) is StepOutcome.HOLD
    qa = plan.promotion.steps[0]
    assert step_outcome(qa, [bad], []) is StepOutcome.NO_GO
    assert step_outcome(qa, [ok], []) is StepOutcome.GO


def test_an_install_past_its_two_hours_raises_an_overrun(plan: Plan) -> None:
    assert plan.promotion is not None
    checklist = plan.promotion.steps[2].checklist
    install = next(i for i, c in enumerate(checklist) if c.text.startswith("Install"))
    started = {install: T0, 0: T0}
    later = T0 + dt.timedelta(hours=2, minutes=1)
    found = overruns(checklist, started, {}, later)
    assert [o.item for o in found] == [install]
    assert found[0].expected == dt.timedelta(hours=2)
    done = {install: T0 + dt.timedelta(minutes=90)}
    assert overruns(checklist, started, done, later) == ()


def test_copy_writes_only_what_differs() -> None:
    seg = Segment.from_rules("oracle", ["ehr == 'oracle'"])
    flag = Flag("a", boolean=True, eligibility="oracle")
    writes = copy_writes([flag], {"oracle": seg}, [flag], {"oracle": seg})
    assert writes.is_empty
    writes = copy_writes([flag], {"oracle": seg}, [Flag("a")], {})
    assert writes.segments == (seg,) and writes.changed == (flag,)
