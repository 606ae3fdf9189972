"""`flagramp tour`: a short, real walk through the flag store (what `make run` runs).

It opens the configured store (SQLite `flagramp.db` by default), imports seed 000's
four VAOS toggles from a features.yml, sets Phase I's canary (5 % of actors) and a
few gates, then shows how some veterans evaluate and why, the audit trail and its
verification. Running it again changes nothing that is already in place.
"""

from __future__ import annotations

import random
from importlib import resources

from rich.panel import Panel
from rich.table import Table

from flagramp.cli.connect import safe_url
from flagramp.cli.options import open_store
from flagramp.cli.output import console, styled, user_errors
from flagramp.cli.render import flag_summary
from flagramp.cli.text import count
from flagramp.core.clock import SystemClock
from flagramp.core.flags import Actor, Evaluator, Flag, Percentage, Segment
from flagramp.core.flags import operations as ops
from flagramp.store import Author, database_url, import_features_yml

PHASE_ONE = "va_online_scheduling_facilities_service_v2"
PHASE_FOUR = "va_online_scheduling_vaos_service_va_appointments"
TOUR = Author("flagramp-tour", "seed 000: Phase I, Stage A canary")

VETERANS = (
    Actor("veteran-1001@va.gov", {"ehr": "vista", "device": "desktop"}),
    Actor("veteran-1002@va.gov", {"ehr": "oracle", "device": "mobile"}),
    Actor("veteran-1072@va.gov", {"ehr": "oracle", "device": "desktop"}),
    Actor("veteran-1004@va.gov", {"ehr": "vista", "device": "mobile"}),
    Actor("veteran-1014@va.gov", {"ehr": "oracle", "device": "mobile"}),
    Actor("uat-tester@va.gov", {"ehr": "oracle", "device": "desktop"}),
    Actor("broken-account@va.gov", {"ehr": "oracle", "device": "desktop"}),
)


def tour() -> None:
    """Import seed 000's VAOS toggles and show how veterans evaluate, and why."""
    with user_errors():
        _run()


def _run() -> None:
    console.print(
        Panel.fit(f"flagramp tour — store: {safe_url(database_url())}", style="bold")
    )
    store = open_store()
    catalogue = resources.files("flagramp.cli").joinpath("data/vaos_features.yml")
    changed = import_features_yml(
        store, catalogue.read_text(encoding="utf-8"), TOUR, source="vaos_features.yml"
    )
    console.print(f"1. imported seed 000's four VAOS toggles ({changed} changed)")

    store.put_segment(Segment.from_rules("oracle_health", ["ehr == oracle"]), TOUR)
    store.change_flag(
        PHASE_ONE,
        lambda f: ops.set_percentage_of_actors(f, Percentage.parse("5")),
        TOUR,
    )
    store.change_flag(PHASE_ONE, lambda f: ops.add_actor(f, "uat-tester@va.gov"), TOUR)
    store.change_flag(
        PHASE_ONE, lambda f: ops.deny_actor(f, "broken-account@va.gov"), TOUR
    )
    store.change_flag(
        PHASE_FOUR,
        lambda f: ops.set_percentage_of_actors(f, Percentage.parse("25")),
        TOUR,
    )
    store.change_flag(
        PHASE_FOUR, lambda f: ops.set_eligibility(f, "oracle_health"), TOUR
    )
    # One print per line: the console writes a newline inside a string as \n.
    console.print(
        "2. Phase I canary: 5 % of actors, a UAT tester allowed, one account denied;"
    )
    console.print("   Phase IV (for contrast): 25 % of Oracle Health patients only")

    flags = store.list_flags()
    listing = Table("flag", "state", "gates", title="3. the flags in production")
    for flag in flags:
        listing.add_row(flag.key, flag.state, flag_summary(flag))
    console.print(listing)

    evaluator = Evaluator(store.segments(), SystemClock(), random.Random().random)
    by_key = {f.key: f for f in flags}
    for key in (PHASE_ONE, PHASE_FOUR):
        table = Table("veteran", "ehr", "on?", "gate", "why", title=f"4. {key}")
        for actor in VETERANS:
            result = evaluator.explain(by_key[key], [actor])
            table.add_row(
                actor.flipper_id,
                str(actor.properties["ehr"]),
                styled("on", "green") if result.enabled else styled("off", "red"),
                result.gate,
                result.reason,
            )
        console.print(table)

    share = _share_enabled(evaluator, by_key[PHASE_ONE])
    console.print(
        f"5. of 10,000 synthetic veterans, {share:.2f} % get Phase I (target 5 %)"
    )
    report = store.verify_audit()
    rows = report.rows
    status = "intact" if report.ok else f"BROKEN: {report.problems[0]}"
    console.print(
        f"6. audit log: {count(rows, 'row')}, hash chain {status}; store version "
        f"{store.version()}"
    )
    console.print()
    console.print(f"Next: flagramp flags show {PHASE_ONE}")
    console.print(f"      flagramp eval {PHASE_FOUR} --actor someone --prop ehr=oracle")
    console.print("      flagramp plan validate examples/vaos-service-integration.yaml")


def _share_enabled(evaluator: Evaluator, flag: Flag) -> float:
    compiled = evaluator.compile(flag)
    hits = sum(compiled.is_enabled(f"veteran-{i}@va.gov") for i in range(10_000))
    return hits / 100
