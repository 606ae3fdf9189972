"""A VAOS run (seed 000) for report tests: a hand-made log over simulated windows.

The run walks every stage of the four phases in virtual time, each stage held
`STAGE_MINUTES` (the plan's holds are hours and days; the report does not check
them), with one incident: phase II's canary is rolled back by a critical error
rate and re-enabled by the product owner. The log's events are shaped like the
machine's (`docs/reports.md` lists the kinds read); the windows come from the
simulator's events through the real ingest, one scope per flag.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from flagramp.core.plans import Plan, RolloutPhase, load_plan, stage_exit
from flagramp.core.severity import Severity
from flagramp.core.types import Json
from flagramp.engine.compile import metric_specs
from flagramp.reports import (
    ReleaseReport,
    RunEvent,
    RunRecord,
    collect,
    render_charts,
    render_html,
)
from flagramp.sim import FlagState, span_batches
from flagramp.sim.examples import vaos_world
from flagramp.stats.decision import Evidence, GuardDecision, GuardOutcome
from flagramp.stats.ingest import WindowIngest
from flagramp.stats.windows import Lane, Window

EXAMPLE = Path(__file__).parents[2] / "examples" / "vaos-service-integration.yaml"
RUN = "vaos-1"
#: Monday 5 January 2026, 14:00 UTC.
START = dt.datetime(2026, 1, 5, 14, 0, tzinfo=dt.UTC)
STAGE_MINUTES = 30
AFTER_LIVE_MINUTES = 60
#: How long each go/no-go takes to be answered.
GATE_MINUTES = 3
SEED = 7
#: A go/no-go comment with markup in it: reports must show it as text.
SCRIPT_COMMENT = "Looks good <script>alert(1)</script> & on we go"
#: The plan, with a latency quantile the example does not define.
LATENCY_METRIC = """metrics:
  vaos_latency:
    kind: quantile
    event: vaos_service_request
    value: latency_ms
    q: 0.95
    description: VAOS service latency, 95th percentile
"""


def plan_text() -> str:
    """The example plan with a latency quantile metric added."""
    return EXAMPLE.read_text().replace("\nmetrics:\n", "\n" + LATENCY_METRIC, 1)


@cache
def plan() -> Plan:
    """The plan the run adopted."""
    return load_plan(plan_text(), "vaos.yaml").plan


@dataclass
class MemoryWindows:
    """Windows per flag in memory, read as `store.WindowStore.windows` reads."""

    by_flag: dict[str, tuple[Window, ...]] = field(default_factory=dict)
    reads: int = 0

    def windows(
        self,
        run: str,
        flag: str,
        *,
        lane: Lane | None = None,
        start: int | None = None,
        end: int | None = None,
    ) -> tuple[Window, ...]:
        self.reads += 1
        if run != RUN:
            return ()
        return tuple(
            w
            for w in self.by_flag.get(flag, ())
            if (lane is None or w.key.lane is lane)
            and (start is None or w.key.start >= start)
            and (end is None or w.key.end <= end)
        )


@dataclass(frozen=True)
class Segment:
    """A span of the run with every flag's percentage."""

    start: dt.datetime
    minutes: int
    percentages: tuple[float, float, float, float]


@dataclass
class _Log:
    events: list[RunEvent] = field(default_factory=list)

    def add(
        self, at: dt.datetime, kind: str, actor: str | None = None, /, **data: Json
    ) -> None:
        self.events.append(RunEvent(len(self.events) + 1, at, kind, actor, data))


PO = "vaos-product-owner@va.gov"
ENG = "vaos-eng-lead@va.gov"
BIZ = "vaos-business-stakeholders@va.gov"


def _check(label: str, metric: str | None, outcome: GuardOutcome) -> dict[str, Json]:
    decision = GuardDecision(
        label,
        outcome,
        Severity.HIGH,
        Evidence("always-valid test", 0.01, 0.0, 0.25, 100.0, 0.05),
    )
    return {
        "criterion": label,
        "metric": metric,
        "mode": "pause",
        "acts": True,
        "decision": decision.to_record(),  # type: ignore[dict-item]
    }


def _evaluation(
    p: Plan, phase: int, stage: int, harmful: str | None = None
) -> dict[str, Json]:
    rollout = p.phases[phase]
    assert isinstance(rollout, RolloutPhase)
    checks: list[Json] = []
    for c in rollout.stages[stage].criteria:
        outcome = GuardOutcome.HARMFUL if c.label == harmful else GuardOutcome.HEALTHY
        checks.append(_check(c.label, getattr(c, "metric", None), outcome))
    return {"checks": checks, "health": {"reason": None, "since": None, "srm": False}}


def schedule(
    stage_minutes: int = STAGE_MINUTES, after_live_minutes: int = AFTER_LIVE_MINUTES
) -> tuple[list[RunEvent], list[Segment], dt.datetime, list[Json]]:
    """The run's log, the flag states over time, when it went live, and the
    state's `stage_results` (as the machine writes them: `docs/engine.md`)."""
    p = plan()
    log = _Log()
    results: list[Json] = []
    t = START
    log.add(t, "run_started", plan=p.name, revision=p.revision)
    signers = ("hsrm-team@va.gov", "vaos-service-team@va.gov", BIZ, PO)
    for item, (person, prerequisite) in enumerate(
        zip(signers, p.prerequisites, strict=True)
    ):
        t += dt.timedelta(minutes=1)
        log.add(
            t,
            "prerequisite_signed",
            person,
            item=item,
            role=prerequisite.signed_by,
            note="live in production",
        )
    segments: list[Segment] = []
    done: list[float] = [0.0, 0.0, 0.0, 0.0]
    t = START + dt.timedelta(minutes=10)
    for phase, rollout in p.rollout_phases():
        log.add(t, "phase_started", phase=phase, name=rollout.name)
        for s, stage in enumerate(rollout.stages):
            pct = stage.percentage
            entered: dict[str, Json] = {"phase": phase, "stage": s, "name": stage.name}
            log.add(t, "stage_entered", **entered, percentage=pct)
            state = list(done)
            state[phase] = pct
            if (phase, s) == (1, 0):
                t = _incident(log, p, segments, t, state, phase, s)
                log.add(t, "stage_entered", **entered, percentage=pct)
            gates = stage_exit(p, phase, s).gates
            # The flags stay where they are while the go/no-go is asked.
            held = stage_minutes + GATE_MINUTES * len(gates)
            segments.append(Segment(t, held, _four(state)))
            t += dt.timedelta(minutes=stage_minutes)
            _answers(log, t, phase, s)
            evidence: dict[str, Json] = {
                "risks": [],
                "evaluation": _evaluation(p, phase, s),
            }
            for index, gate in enumerate(gates):
                log.add(
                    t,
                    "go_no_go_asked",
                    kind="exit",
                    index=index,
                    roles=list(gate.roles),
                    quorum=gate.quorum,
                    evidence=evidence,
                )
                for role in gate.roles:
                    person = p.roles[role].people[0]
                    comment = SCRIPT_COMMENT if phase == 0 else "healthy"
                    log.add(
                        t + dt.timedelta(minutes=2),
                        "voted",
                        person,
                        role=role,
                        answer="launch",
                        comment=comment,
                        kind="exit",
                        launched_on_evidence=False,
                    )
                t += dt.timedelta(minutes=GATE_MINUTES)
                log.add(t, "go_no_go_passed", kind="exit", index=index)
            log.add(t, "stage_left", phase=phase, stage=s, decision="passed")
            results.append(
                {
                    "phase": phase,
                    "stage": s,
                    "left_at": t.isoformat(),
                    "decision": "passed",
                    "evidence": evidence,
                }
            )
            t += dt.timedelta(minutes=5)
        log.add(t, "phase_completed", phase=phase, name=rollout.name)
        done[phase] = 100.0
    live = t
    log.add(live, "go_live")
    segments.append(Segment(live, after_live_minutes, (100.0, 100.0, 100.0, 100.0)))
    log.add(
        live + dt.timedelta(minutes=30),
        "question_answered",
        PO,
        phase=3,
        stage=None,
        question=p.go_live.questions[0].text if p.go_live else "",
        text="Every KPI is inside its target.",
    )
    return log.events, segments, live, results


def _incident(
    log: _Log,
    p: Plan,
    segments: list[Segment],
    t: dt.datetime,
    state: list[float],
    phase: int,
    s: int,
) -> dt.datetime:
    """The canary's error rate breaches its limit after 20 minutes: the flag
    goes off for everyone for 10 minutes, then the product owner re-enables."""
    segments.append(Segment(t, 20, _four(state)))
    t += dt.timedelta(minutes=20)
    check = _check("errors", "error_rate", GuardOutcome.HARMFUL)
    log.add(
        t,
        "guard_harmful",
        phase=phase,
        stage=s,
        criterion="errors",
        severity="critical",
        action="disable_all",
        decision=check,
    )
    log.add(
        t,
        "rolled_back",
        action="disable_all",
        phase=phase,
        from_stage=s,
        to_stage=None,
        incident="I1",
        criterion="errors",
        severity="critical",
        revert_required=False,
    )
    off = list(state)
    off[phase] = 0.0
    segments.append(Segment(t, 10, _four(off)))
    log.add(
        t + dt.timedelta(minutes=2),
        "rollback_verified",
        incident="I1",
        at=(t + dt.timedelta(minutes=2)).isoformat(),
    )
    t += dt.timedelta(minutes=10)
    log.add(
        t,
        "re_enabled",
        PO,
        incident="I1",
        root_cause="Expired VAOS service credentials after a rotation",
        stage=s,
    )
    return t


def _answers(log: _Log, t: dt.datetime, phase: int, stage: int) -> None:
    # Phase IV's last stage is left unanswered: the report must say who owes it.
    if (phase, stage) == (3, 2):
        return
    log.add(
        t,
        "question_answered",
        PO,
        phase=phase,
        stage=stage,
        question="Was the data submitted (if any) easy for VA to process?",
        text="yes",
    )
    log.add(
        t,
        "question_answered",
        ENG,
        phase=phase,
        stage=stage,
        question="Types of errors logged",
        text="Background VAOS errors only, as in control.",
    )


def _four(values: list[float]) -> tuple[float, float, float, float]:
    return (values[0], values[1], values[2], values[3])


def _flag_states(pcts: tuple[float, ...]) -> tuple[FlagState, ...]:
    flags = [rollout.flags[0] for _, rollout in plan().rollout_phases()]
    return tuple(FlagState(f, pct) for f, pct in zip(flags, pcts, strict=True))


def _minute(at: dt.datetime) -> int:
    return int(at.timestamp() // 60)


def _batches(
    segments: list[Segment], users: int, requests_per_minute: float
) -> Iterator[object]:
    world = vaos_world(users=users, requests_per_minute=requests_per_minute)
    for seg in segments:
        start = _minute(seg.start)
        yield from span_batches(
            SEED, world, start, start + seg.minutes, _flag_states(seg.percentages)
        )


@dataclass(frozen=True)
class VaosRun:
    """The run record, its windows, and when it went live."""

    record: RunRecord
    windows: MemoryWindows
    live_at: dt.datetime
    ended_at: dt.datetime


INCIDENT: dict[str, Json] = {
    "severity": "critical",
    "trigger": "criterion",
    "criterion": "errors",
    "users_affected": 41,
    "acted_by": "controller",
    "fingerprints": ["Vaos::BackendServiceException /vaos/requests"],
    "root_cause": "Expired VAOS service credentials after a rotation",
    "re_enabled_by": PO,
}


@cache
def vaos_run() -> VaosRun:
    """The simulated run (made once per test session)."""
    return simulate()


def simulate(
    *,
    stage_minutes: int = STAGE_MINUTES,
    after_live_minutes: int = AFTER_LIVE_MINUTES,
    users: int = 20_000,
    requests_per_minute: float = 40.0,
) -> VaosRun:
    """The VAOS run at this traffic, each stage held `stage_minutes`."""
    from flagramp.core.events import EventBatch

    events, segments, live, results = schedule(stage_minutes, after_live_minutes)
    specs = metric_specs(plan().metrics)
    flags = [rollout.flags[0] for _, rollout in plan().rollout_phases()]
    ingests = {f: WindowIngest(RUN, f, specs) for f in flags}
    for batch in _batches(segments, users, requests_per_minute):
        assert isinstance(batch, EventBatch)
        for ingest in ingests.values():
            ingest.add_batch(batch)
    windows = MemoryWindows({f: i.windows() for f, i in ingests.items()})
    rolled = next(e for e in events if e.kind == "rolled_back")
    incident = {
        **INCIDENT,
        "detected_at": rolled.at.isoformat(),
        "acted_at": rolled.at.isoformat(),
        "verified_at": (rolled.at + dt.timedelta(minutes=2)).isoformat(),
    }
    record = RunRecord(
        run=RUN,
        plan_text=plan_text(),
        plan_file="vaos.yaml",
        environment="production",
        status="go_live_watching",
        created_at=START,
        events=tuple(events),
        incidents={"I1": incident},
        state={"status": "go_live_watching", "stage_results": results},
    )
    last = segments[-1]
    ended = last.start + dt.timedelta(minutes=last.minutes)
    return VaosRun(record, windows, live, ended)


@cache
def report() -> ReleaseReport:
    """The run's report at the end of its simulated traffic."""
    run = vaos_run()
    return collect(run.record, run.windows, as_of=run.ended_at)


@cache
def charts() -> dict[str, str]:
    """The report's charts."""
    return render_charts(report().charts)


@cache
def html() -> str:
    """The report as HTML with its charts."""
    return render_html(report(), charts())
