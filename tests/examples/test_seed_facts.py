"""Each seed's facts, where they land in its example plan.

Written from the seed documents (which live outside the repository): a fact the
seed states is asserted on the model; a value the seed leaves blank is not
pinned here (the example marks it "Chosen:").
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from flagramp.core.plans import (
    Action,
    CountCriterion,
    ManualPhase,
    NewErrorClassCriterion,
    Plan,
    RelativeToBaselineCriterion,
    RelativeToControlCriterion,
    RolloutPhase,
    Severity,
    load_plan,
    stage_exit,
)

EXAMPLES = Path(__file__).parents[2] / "examples"


def _plan(name: str) -> Plan:
    return load_plan((EXAMPLES / name).read_text(encoding="utf-8"), name).plan


def _rollouts(plan: Plan) -> list[RolloutPhase]:
    return [phase for _, phase in plan.rollout_phases()]


# -- seed 000: VAOS ---------------------------------------------------------------


def test_seed_000_four_toggles_one_after_another() -> None:
    phases = _rollouts(_plan("vaos-service-integration.yaml"))
    assert [p.flags for p in phases] == [
        ("va_online_scheduling_facilities_service_v2",),
        ("va_online_scheduling_vaos_service_requests",),
        ("va_online_scheduling_vaos_service_cc_appointments",),
        ("va_online_scheduling_vaos_service_va_appointments",),
    ]
    assert [p.stages[0].name for p in phases] == ["Stage A: Canary"] * 4
    assert [p.stages[1].name for p in phases] == ["Stage B: moderate"] * 4


def test_seed_000_canaries() -> None:
    phases = _rollouts(_plan("vaos-service-integration.yaml"))
    canaries = [(p.stages[0].percentage, p.stages[0].hold.text) for p in phases]
    # Phase III gives 10 % and no length of time: its hold is chosen.
    assert [c[0] for c in canaries] == [5, 5, 10, 5]
    assert [canaries[i][1] for i in (0, 1, 3)] == ["1h", "2h", "1h"]


def test_seed_000_prerequisites() -> None:
    plan = _plan("vaos-service-integration.yaml")
    assert [p.text for p in plan.prerequisites] == [
        "HSRM is launched and live in Production, and ready to manage appointment "
        "requests",
        "VAOS Service is launched and live in Production, and ready to accept "
        "scheduling and appointment transactions",
        "Business Stakeholders approved Veteran-facing launch",
        "VAOS Product Owner approved Veteran-facing launch",
    ]


def test_seed_000_hinted_criteria_are_the_stage_criteria() -> None:
    for phase in _rollouts(_plan("vaos-service-integration.yaml")):
        for stage in phase.stages:
            rules = [c.rule() for c in stage.criteria]
            assert rules == [
                "abandonment_rate below 20",
                "contact_center_calls fewer than 2 per stage",
                "error_rate below 5",
            ]


def test_seed_000_contact_center_calls_have_no_actor() -> None:
    plan = _plan("vaos-service-integration.yaml")
    assert plan.events["contact_center_call"].actor is False


def test_seed_000_go_live() -> None:
    go_live = _plan("vaos-service-integration.yaml").go_live
    assert go_live is not None and go_live.go_no_go is not None
    assert go_live.go_no_go.note is not None
    assert "go-no-go-meeting-template.md" in go_live.go_no_go.note
    assert [(c.name, c.after.text) for c in go_live.checkpoints] == [
        ("1-week results", "1w"),
        ("1-month results", "1mo"),
    ]
    for checkpoint in go_live.checkpoints:
        questions = {q.text.split("?")[0]: q for q in checkpoint.record.questions}
        assert questions["Number of unique users"].query == "unique_users"
        assert questions["Any issues with VA handling/processing"].is_yes_no
        ux = next(q for k, q in questions.items() if k.startswith("Any UX changes"))
        assert ux.follow_up is not None and ux.follow_up.text == "If yes, what"
        assert checkpoint.kpis


def test_seed_000_go_live_gates_the_last_step_to_everyone() -> None:
    plan = _plan("vaos-service-integration.yaml")
    assert plan.go_live is not None
    gates = stage_exit(plan, 3, 1).gates
    assert plan.go_live.go_no_go in gates


# -- seeds 001 and 002: Secure Messaging -------------------------------------------

SM = "secure-messaging-oracle-health.yaml"


def test_seed_001_uat_with_two_allow_listed_users() -> None:
    uat = _rollouts(_plan(SM))[0]
    assert uat.flags == ("mhv_secure_messaging_curated_list_flow",)  # seed 002
    assert len(uat.audience.allow_list) == 2
    assert uat.window is not None
    assert (uat.window.start, uat.window.end) == (
        dt.date(2025, 8, 22),
        dt.date(2025, 9, 4),
    )
    assert [s.percentage for s in uat.stages] == [0]


def test_seed_001_sample_results_are_samples_not_results() -> None:
    stage = _rollouts(_plan(SM))[0].stages[0]
    questions = {q.text: q for q in stage.record.questions}
    assert all(q.answer is None for q in questions.values())
    assert questions["Number of users"].sample_answer == "2"
    bugs = questions["Number of bugs identified / fixed"].sample_answer or ""
    assert all(b in bugs for b in ("STS Bug", "Incorrect config", "Overwrite issue"))
    latency = questions["Latency"].sample_answer or ""
    assert "between 4 seconds and 23" in latency


def test_seed_001_uat_latency_is_shown_not_acted_on() -> None:
    stage = _rollouts(_plan(SM))[0].stages[0]
    assert stage.go_no_go is not None
    assert {c.mode.value for c in stage.criteria} == {"observe"}
    assert "send_latency_p95" in stage.record.metrics


def test_seed_001_milestones() -> None:
    plan = _plan(SM)
    assert [m.target for m in plan.milestones] == [
        dt.date(2025, 9, 2),
        dt.date(2025, 9, 5),
    ]


def test_seed_002_toggles_launch_together_in_five_stages() -> None:
    staged = _rollouts(_plan(SM))[1]
    assert staged.flags == (
        "mhv_secure_messaging_curated_list_flow",
        "mhv_secure_messaging_recent_recipients",
    )
    assert staged.shared_users
    assert [s.percentage for s in staged.stages] == [5, 25, 50, 75, 100]
    first = staged.stages[0]
    assert first.hold.text == "1d" and "1 day, January 15" in (first.description or "")
    assert staged.window is not None
    assert (staged.window.start.month, staged.window.start.day) == (1, 15)
    assert staged.monitored_by == ("ux_lead", "eng_lead", "product_manager")


def test_seed_002_one_pre_launch_go_no_go_with_depo_octo() -> None:
    uat, staged = _rollouts(_plan(SM))
    assert uat.go_no_go is not None and "depo_octo" in uat.go_no_go.roles
    assert all(s.go_no_go is None for s in staged.stages)


def test_seed_002_prerequisites_from_its_metrics_criteria() -> None:
    texts = " | ".join(p.text for p in _plan(SM).prerequisites)
    assert "Datadog (DD) collection increased to 100%" in texts
    assert "estimated a full day for the dashboard build" in texts


def test_seed_002_metrics() -> None:
    metrics = _plan(SM).metrics
    assert metrics["csat"].split_by == ("route",)  # broken out by URL
    assert metrics["messages_submitted"].split_by == ("platform",)
    dashboard = {m.description for m in metrics.values()}
    for row in (
        "[web] New Drafts created on va.gov",
        "[web] Drafts updated on va.gov",
        "[web] Drafts deleted on va.gov",
        "[web] Messages Sent on va.gov",
        "[web] Latency - Drafts/Send Message",
        "[web] click on Care System Radio button",
        '[web] click on "Update your contact list" link',
        '[web] click on "Can\'t find your care team" link',
        '[web] click on "Select different care team" link',
    ):
        assert any(d and d.startswith(row) for d in dashboard), row


def test_seed_002_recorded_stage_results() -> None:
    staged = _rollouts(_plan(SM))[1]
    answers = [
        [q.answer for q in s.record.questions if q.answer is not None]
        for s in staged.stages
    ]
    assert answers == [
        ["No", "None, except for error messaging change"],
        ["No", "None, except for error messaging change"],
        ["No", "None"],
        ["No", "Error messaging for pages - work ongoing."],
        ["no", "Error messaging deploys on Monday"],
    ]


def test_seed_002_compares_the_new_flow_with_the_base_through_100() -> None:
    staged = _rollouts(_plan(SM))[1]
    assert staged.holdback > 0 and staged.holdback_until is not None
    last = staged.stages[-1]
    assert any(isinstance(c, RelativeToControlCriterion) for c in last.criteria)


def test_seed_002_rollback_by_severity() -> None:
    policy = _plan(SM).rollback
    assert policy is not None
    actions = {s: p.action for s, p in policy.severities.items()}
    assert actions == {
        Severity.CRITICAL: Action.DISABLE_ALL,
        Severity.HIGH: Action.STEP_BACK,
        Severity.LOW: Action.CONTINUE,
    }
    assert policy.severities[Severity.HIGH].revert_required
    assert policy.monitored_by == ("product_manager", "eng_lead", "research_lead")


# -- seed 003: UAE dark deploy -----------------------------------------------------

UAE = "uae-appointments-dark-deploy.yaml"


def test_seed_003_only_oracle_patients_are_eligible() -> None:
    plan = _plan(UAE)
    phase = _rollouts(plan)[0]
    assert phase.audience.eligible == "oracle_patients"
    assert plan.segments["oracle_patients"].rules == ("ehr in [oracle, dual]",)


def test_seed_003_steps() -> None:
    plan = _plan(UAE)
    stages = _rollouts(plan)[0].stages
    assert [s.percentage for s in stages] == [1, 5, 20, 100]
    full = stages[-1]
    assert (full.hold.text, full.effective_max_time.text) == ("1w", "2w")
    # "Declare rollout complete if stable."
    assert stage_exit(plan, 0, 3).completes_phase
    # "Go/No-Go decision before proceeding" ends steps 1 and 3.
    assert [s.go_no_go is not None for s in stages] == [False, True, True, False]


def test_seed_003_rollback_triggers() -> None:
    stages = _rollouts(_plan(UAE))[0].stages
    for stage in stages[:3]:
        novelty = [c for c in stage.criteria if isinstance(c, NewErrorClassCriterion)]
        assert [(c.severity, c.mode.value) for c in novelty] == [
            (Severity.CRITICAL, "rollback")
        ]
    baseline = {
        c.metric: (c.max_increase, c.max_decrease, c.mode.value)
        for c in stages[-1].criteria
        if isinstance(c, RelativeToBaselineCriterion)
    }
    assert baseline["api_error_rate"] == (0, None, "rollback")
    assert baseline["fetch_failure_rate"] == (0, None, "rollback")
    assert baseline["booking_success_rate"] == (None, 0, "rollback")
    assert baseline["cancellation_success_rate"] == (None, 0, "rollback")
    counts = [c for c in stages[-1].criteria if isinstance(c, CountCriterion)]
    assert [c.metric for c in counts] == ["oracle_timeouts"]  # "any timeouts"


def test_seed_003_where_it_is_seen_today() -> None:
    seen = {n: m.seen_in for n, m in _plan(UAE).metrics.items()}
    assert seen["api_error_rate"] == "Existing Datadog alerts"
    assert seen["fetch_failure_rate"] == "API logs"
    assert seen["booking_success_rate"] == "Existing metrics"
    assert seen["oracle_timeouts"] == "VAOS logs"


def test_seed_003_rollback_procedure() -> None:
    plan = _plan(UAE)
    policy = plan.rollback
    assert policy is not None and policy.re_enable is not None
    assert policy.kill_switch == ("on_call",)
    assert policy.re_enable.approved_by == ("product_owner",)
    assert len(policy.procedure) == 6
    assert policy.procedure[1].startswith("Disable feature flag")
    assert plan.alerts and plan.alerts[0].source == "datadog"
    nudging = plan.phases[-1]
    assert isinstance(nudging, ManualPhase) and nudging.name == "Nudging"
    assert len(plan.risks) == 2


# -- seed 004: TMP deployment ------------------------------------------------------

TMP = "tmp-deployment.yaml"


def test_seed_004_has_no_flag_phase_or_rollback_policy() -> None:
    plan = _plan(TMP)
    assert (plan.flags, plan.phases, plan.rollback) == ({}, (), None)


def test_seed_004_environments_and_promotion() -> None:
    plan = _plan(TMP)
    assert [e.name for e in plan.environments] == [
        "workstation", "dev", "int", "qa", "pre-prod", "production",
    ]  # fmt: skip
    assert plan.promotion is not None
    steps = plan.promotion.steps
    assert [s.environment for s in steps] == ["qa", "pre-prod", "production"]
    # Only production is backed up, about 10 pm the night before 7/26/2023.
    assert [s.takes_backup for s in steps] == [False, False, True]
    prod = steps[-1]
    assert prod.date == dt.date(2023, 7, 26)
    assert not isinstance(prod.backup, bool)
    assert (prod.backup.at, prod.backup.days_before) == ("22:00", 1)
    # One go/no-go, after deployment; No-Go restores.
    assert [s.go_no_go is not None for s in steps] == [False, False, True]
    assert prod.go_no_go is not None
    assert prod.go_no_go.roles == ("va_oit", "va_business")
    assert prod.on_no_go == "restore" and len(prod.restore_steps) == 3
    install = next(c for c in prod.checklist if c.text.startswith("Install"))
    assert (
        install.expected_duration is not None and install.expected_duration.text == "2h"
    )
    assert prod.expected_duration is not None and prod.expected_duration.text == "1d"


def test_seed_004_role_tables_and_status_emails() -> None:
    plan = _plan(TMP)
    titles = {r.title for r in plan.roles.values()}
    for team in (
        "O&M Team", "Enterprise Operations (EO)", "D365 Product Team",
        "VA Project Team", "Liberty Development Team", "TMP Project Team",
    ):  # fmt: skip
        assert team in titles, team
    for prefix in (
        "Training", "Communication Lead", "Functional Tester(s)", "Development",
        "VA OIT", "VA Business / TDD", "Application Support", "Hosting Support",
        "Integration Partners",
    ):  # fmt: skip
        assert any(t and t.startswith(prefix) for t in titles), prefix
    on_call = {
        r.title.split(" (")[0] for r in plan.roles.values() if r.on_call and r.title
    }
    assert {"VA OIT", "VA Business / TDD", "Hosting Support", "Development"} <= on_call
    (mail,) = plan.notifications
    assert set(mail.email) == set(plan.roles) and mail.about == ()
    assert [m.name for m in plan.milestones] == [
        "Unit Testing Completed",
        "Software Quality Assurance Testing Completed",
        "Pre-Production Testing Completed",
    ]
