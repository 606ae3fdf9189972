"""Checks across fields: references resolve, percentages climb, names are unique.

Each check adds a `Finding` with the path of the value to fix; the loader turns
findings into problems with line and column. Nothing stops at the first finding.
"""

from __future__ import annotations

from collections.abc import Iterable

from flagramp.core.errors import InvalidSegment
from flagramp.core.flags.segments import parse_rule
from flagramp.core.plans.criteria import CountCriterion
from flagramp.core.plans.gonogo import GoNoGo
from flagramp.core.plans.metrics import CountMetric
from flagramp.core.plans.percentages import show_number
from flagramp.core.plans.phases import DateWindow, ManualPhase, RolloutPhase, TimeOfDay
from flagramp.core.plans.plan import Plan, Signature
from flagramp.core.plans.problems import Finding, Loc
from flagramp.core.plans.stages import Record, Stage


def check(plan: Plan) -> list[Finding]:
    """Every cross-field problem of a plan that pydantic accepted field by field."""
    checker = _Checker(plan)
    checker.run()
    return checker.findings


class _Checker:
    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.findings: list[Finding] = []

    def add(self, loc: Loc, message: str, hint: str = "") -> None:
        self.findings.append(Finding(loc, message, hint))

    def run(self) -> None:
        plan = self.plan
        self.role(("owner",), plan.owner)
        self.role(("product_owner",), plan.product_owner)
        envs = [e.name for e in plan.environments]
        if envs and plan.environment not in envs:
            self.add(
                ("environment",),
                f"{plan.environment!r} is not one of the plan's environments",
                f"use one of {', '.join(envs)}",
            )
        self.unique(("environments",), [e.name for e in plan.environments], "name")
        for name, segment in plan.segments.items():
            self.rules(("segments", name, "rules"), segment.rules)
        for name, metric in plan.metrics.items():
            self.rules(("metrics", name, "where"), metric.where)
        for i, item in enumerate(plan.prerequisites):
            self.role(
                ("prerequisites", i, "signed_by"),
                item.signed_by,
                Signature.PREREQUISITE,
            )
        for i, milestone in enumerate(plan.milestones):
            if milestone.owner is not None:
                self.role(("milestones", i, "owner"), milestone.owner)
        self.unique(("phases",), [p.name for p in plan.phases], "name")
        for i, phase in enumerate(plan.phases):
            if isinstance(phase, RolloutPhase):
                self.rollout(("phases", i), phase)
            else:
                self.manual(("phases", i), phase)
        self.rollback()
        self.promotion(envs)
        self.go_live()

    # -- references -------------------------------------------------------

    def role(self, loc: Loc, name: str, needs: Signature | None = None) -> None:
        role = self.plan.roles.get(name)
        if role is None:
            known = ", ".join(sorted(self.plan.roles))
            self.add(
                loc,
                f"role {name!r} is not defined under `roles`",
                f"use one of {known}",
            )
        elif needs is not None and needs not in role.signs:
            self.add(
                loc,
                f"role {name!r} may not sign {needs.value}",
                f"add {needs.value} to roles.{name}.signs",
            )

    def metric(self, loc: Loc, name: str) -> None:
        if name not in self.plan.metrics:
            known = ", ".join(sorted(self.plan.metrics)) or "none defined yet"
            self.add(
                loc,
                f"metric {name!r} is not defined under `metrics`",
                f"metrics: {known}",
            )

    def rules(self, loc: Loc, rules: Iterable[str]) -> None:
        for i, rule in enumerate(rules):
            try:
                parse_rule(rule)
            except InvalidSegment as exc:
                self.add(
                    (*loc, i), exc.detail, "write a rule like `ehr in [oracle, cerner]`"
                )

    def unique(self, loc: Loc, names: list[str], field: str) -> None:
        seen: set[str] = set()
        for i, name in enumerate(names):
            if name in seen:
                self.add(
                    (*loc, i, field),
                    f"{name!r} is used twice",
                    "give each a distinct name",
                )
            seen.add(name)

    def gonogo(self, loc: Loc, gate: GoNoGo | None) -> None:
        if gate is None:
            return
        for i, role in enumerate(gate.roles):
            self.role((*loc, "roles", i), role, Signature.GO_NO_GO)

    def record(self, loc: Loc, record: Record) -> None:
        for i, name in enumerate(record.metrics):
            self.metric((*loc, "metrics", i), name)
        self.questions((*loc, "questions"), record)

    def questions(self, loc: Loc, record: Record | tuple[object, ...]) -> None:
        items = record.questions if isinstance(record, Record) else record
        for i, question in enumerate(items):
            answered_by = getattr(question, "answered_by", None)
            query = getattr(question, "query", None)
            if answered_by is not None:
                self.role((*loc, i, "answered_by"), answered_by)
            if query is not None:
                self.metric((*loc, i, "query"), query)

    # -- phases -----------------------------------------------------------

    def rollout(self, loc: Loc, phase: RolloutPhase) -> None:
        for i, flag in enumerate(phase.flags):
            if flag not in self.plan.flags:
                self.add(
                    (*loc, "flags", i),
                    f"flag {flag!r} is not declared under `flags`",
                    f"add `{flag}: {{create: false}}` (or create: true) under flags",
                )
        self.unique_values((*loc, "flags"), phase.flags)
        if phase.shared_users and len(phase.flags) < 2:
            self.add((*loc, "shared_users"), "shared users need two or more flags")
        eligible = phase.audience.eligible
        if eligible is not None and eligible not in self.plan.segments:
            self.add(
                (*loc, "audience", "eligible"),
                f"segment {eligible!r} is not defined under `segments`",
            )
        if phase.holdback >= 100:
            self.add(
                (*loc, "holdback"), "a holdback of 100 leaves nobody to roll out to"
            )
        self.window((*loc, "window"), phase.window)
        self.time_of_day((*loc, "time_of_day"), phase.time_of_day)
        for i, role in enumerate(phase.monitored_by):
            self.role((*loc, "monitored_by", i), role)
        self.unique((*loc, "stages"), [s.name for s in phase.stages], "name")
        previous: Stage | None = None
        for i, stage in enumerate(phase.stages):
            self.stage((*loc, "stages", i), stage, phase)
            if previous is not None and stage.percentage < previous.percentage:
                self.add(
                    (*loc, "stages", i, "percentage"),
                    f"{show_number(stage.percentage)} is below the previous stage's "
                    f"{show_number(previous.percentage)}",
                    "percentages never decrease within a phase; start a new phase",
                )
            previous = stage

    def stage(self, loc: Loc, stage: Stage, phase: RolloutPhase) -> None:
        if stage.percentage == 0 and not phase.audience.allow_list:
            self.add(
                (*loc, "percentage"),
                "0 % with no allow list reaches nobody",
                "add audience.allow_list to the phase, or raise the percentage",
            )
        if stage.max_time is not None and stage.max_time < stage.hold:
            self.add(
                (*loc, "max_time"),
                f"{stage.max_time} is shorter than the hold of {stage.hold}",
            )
        names = [c.name for c in stage.criteria if c.name is not None]
        self.unique_values((*loc, "criteria"), names)
        severities = self.plan.rollback.severities
        for i, criterion in enumerate(stage.criteria):
            here = (*loc, "criteria", i)
            if criterion.severity not in severities:
                self.add(
                    (*here, "severity"),
                    f"severity {criterion.severity.value!r} has no action under "
                    "rollback.severities",
                    f"add rollback.severities.{criterion.severity.value}",
                )
            metric = getattr(criterion, "metric", None)
            if metric is None:
                continue
            self.metric((*here, "metric"), metric)
            defined = self.plan.metrics.get(metric)
            if (
                isinstance(criterion, CountCriterion)
                and defined is not None
                and not isinstance(defined, CountMetric)
            ):
                self.add(
                    (*here, "metric"),
                    "a count criterion needs a count metric; "
                    f"{metric!r} is a {defined.kind}",
                    "use kind: absolute, or define a metric with kind: count",
                )
        self.gonogo((*loc, "go_no_go"), stage.go_no_go)
        self.record((*loc, "record"), stage.record)

    def manual(self, loc: Loc, phase: ManualPhase) -> None:
        self.role((*loc, "owner"), phase.owner)
        for i, item in enumerate(phase.checklist):
            if item.role is not None:
                self.role((*loc, "checklist", i, "role"), item.role)
        self.window((*loc, "window"), phase.window)
        self.record((*loc, "record"), phase.record)

    def window(self, loc: Loc, window: DateWindow | None) -> None:
        if window is not None and window.end is not None and window.end < window.start:
            self.add((*loc, "end"), f"{window.end} is before the start {window.start}")

    def time_of_day(self, loc: Loc, window: TimeOfDay | None) -> None:
        if window is not None and window.start == window.end:
            self.add((*loc, "end"), "the window starts and ends at the same time")

    def unique_values(self, loc: Loc, values: Iterable[str]) -> None:
        seen: set[str] = set()
        for i, value in enumerate(values):
            if value in seen:
                self.add((*loc, i), f"{value!r} is listed twice")
            seen.add(value)

    # -- policy, promotion, go-live ----------------------------------------

    def rollback(self) -> None:
        policy = self.plan.rollback
        for i, role in enumerate(policy.reenable_approved_by):
            self.role(
                ("rollback", "reenable_approved_by", i), role, Signature.RE_ENABLE
            )
        for i, role in enumerate(policy.kill_switch):
            self.role(("rollback", "kill_switch", i), role, Signature.KILL_SWITCH)
        for i, role in enumerate(policy.monitored_by):
            self.role(("rollback", "monitored_by", i), role)

    def promotion(self, envs: list[str]) -> None:
        promotion = self.plan.promotion
        if promotion is None:
            return
        self.time_of_day(("promotion", "time_of_day"), promotion.time_of_day)
        last = -1
        for i, step in enumerate(promotion.steps):
            loc: Loc = ("promotion", "steps", i)
            if step.environment not in envs:
                self.add(
                    (*loc, "environment"),
                    f"environment {step.environment!r} is not under `environments`",
                    "list the environments in promotion order under `environments`",
                )
            else:
                order = envs.index(step.environment)
                if order <= last:
                    self.add(
                        (*loc, "environment"),
                        f"{step.environment!r} comes before {envs[last]!r} in "
                        "`environments`; promotion goes one way",
                    )
                last = order
            for j, item in enumerate(step.checklist):
                if item.role is not None:
                    self.role((*loc, "checklist", j, "role"), item.role)
            self.gonogo((*loc, "go_no_go"), step.go_no_go)

    def go_live(self) -> None:
        go_live = self.plan.go_live
        if go_live is None:
            return
        self.gonogo(("go_live", "go_no_go"), go_live.go_no_go)
        self.unique(("go_live", "kpis"), [k.name for k in go_live.kpis], "name")
        for i, kpi in enumerate(go_live.kpis):
            if kpi.metric is not None:
                self.metric(("go_live", "kpis", i, "metric"), kpi.metric)
        self.unique(
            ("go_live", "checkpoints"), [c.name for c in go_live.checkpoints], "name"
        )
        for i, checkpoint in enumerate(go_live.checkpoints):
            self.record(("go_live", "checkpoints", i, "record"), checkpoint.record)
        self.questions(("go_live", "questions"), go_live.questions)
