"""`/api/v1/runs`: start, read, and every command, on the real engine (SQLite),
as the token's person; refusals with the machine's codes; JSON shapes."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
import sqlalchemy as sa

from flagramp.engine.run_state import RunState
from flagramp.engine.scopes import current_scope
from flagramp.store.notification_tables import notification_outbox
from flagramp.store.windows import WindowStore
from tests.server.routes.run_plan import ENG, FLAG, PLAN, PO
from tests.server.routes.runs_kit import YAML, Runs, runs

__all__ = ["runs"]


def _problem(answer: httpx.Response, status: int, code: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == code, answer.json()


def test_a_run_starts_from_yaml_and_shows_what_it_waits_for(runs: Runs) -> None:
    answer = runs.call("POST", "/runs", "eng", YAML, content=PLAN)
    assert answer.status_code == 201, answer.text
    started = answer.json()
    assert started["run"] == "R1"
    assert (started["plan"], started["status"]) == ("small", "waiting_prerequisites")
    assert (started["created_by"], started["version"]) == (ENG, 1)
    shown = runs.show()
    assert shown["waiting_for"] == {
        "what": "prerequisites to sign: #0 QA passed in staging (eng)",
        "roles": ["eng"],
        "people": [ENG],
    }
    assert shown["phase"] == "Rollout" and shown["stage"] is None
    assert shown["state"]["status"] == "waiting_prerequisites"
    assert shown["incidents"] == [] and shown["last_evaluation"] is None
    listed = runs.call("GET", "/runs", "viewer").json()["runs"]
    assert [r["run"] for r in listed] == ["R1"]


def test_a_run_starts_from_an_uploaded_plan_by_name(runs: Runs) -> None:
    uploaded = runs.call("POST", "/plans", "eng", YAML, content=PLAN)
    assert uploaded.status_code == 201, uploaded.text
    answer = runs.call("POST", "/runs", "po", json={"plan": "small", "observe": True})
    assert answer.status_code == 201, answer.text
    assert (answer.json()["observe"], answer.json()["created_by"]) == (True, PO)
    missing = runs.call("POST", "/runs", json={"plan": "small", "revision": 9})
    _problem(missing, 404, "not_found")
    both = runs.call("POST", "/runs", json={"plan": "small", "text": PLAN})
    _problem(both, 422, "invalid_request")
    elsewhere = {"plan": "small", "environment": "nowhere"}
    _problem(runs.call("POST", "/runs", json=elsewhere), 404, "not_found")
    staged = runs.call(
        "POST", "/runs", json={"plan": "small", "environment": "staging"}
    )
    assert staged.json()["environment"] == "staging"


def test_an_invalid_plan_starts_nothing_and_names_its_problems(runs: Runs) -> None:
    bad = PLAN.replace("percentage: 5", "percentage: 500")
    answer = runs.call("POST", "/runs", "eng", YAML, content=bad)
    _problem(answer, 422, "plan_invalid")
    assert answer.json()["errors"][0]["line"] > 0
    assert runs.call("GET", "/runs", "viewer").json() == {"runs": []}


def test_a_viewer_reads_runs_but_can_neither_start_nor_command(runs: Runs) -> None:
    run = runs.start()
    _problem(runs.call("POST", "/runs", "viewer", YAML, content=PLAN), 403, "forbidden")
    _problem(runs.command(run, "sign", "viewer", item=1), 403, "forbidden")
    _problem(runs.command(run, "kill", "viewer"), 403, "forbidden")
    assert runs.call("GET", f"/runs/{run}/log", "viewer").status_code == 200
    assert runs.show(run)["status"] == "waiting_prerequisites"


def test_a_sign_off_counts_only_from_the_person_holding_the_role(runs: Runs) -> None:
    run = runs.start()
    refused = runs.command(run, "sign", "outsider", item=1)
    _problem(refused, 403, "not_your_role")
    _problem(runs.command(run, "sign", "po", item=1), 403, "not_your_role")
    _problem(runs.command(run, "sign", "service", item=1), 403, "not_a_person")
    _problem(runs.command(run, "sign", item=7), 409, "unknown_prerequisite")
    assert runs.show(run)["version"] == 1  # nothing written
    signed = runs.command(run, "sign", "eng", item=1, note="QA sheet 12")
    assert signed.status_code == 200, signed.text
    body = signed.json()
    assert body["run"] == run and body["version"] == 2 and body["events"]
    _problem(runs.command(run, "sign", item=1), 409, "not_waiting_for_that")
    log = runs.call("GET", f"/runs/{run}/log", "viewer").json()
    signed_events = [e for e in log["events"] if e["kind"] == "prerequisite_signed"]
    assert [(e["actor"], e["data"]["note"]) for e in signed_events] == [
        (ENG, "QA sheet 12")
    ]
    later = runs.call("GET", f"/runs/{run}/log?since={log['last_seq']}", "viewer")
    assert later.json() == {"run": run, "events": [], "last_seq": log["last_seq"]}


def test_both_roles_launch_at_the_go_no_go_and_the_stage_advances(runs: Runs) -> None:
    run = runs.start()
    runs.to_go_no_go(run)
    shown = runs.show(run)
    assert shown["stage"] == "Canary"
    assert shown["waiting_for"]["roles"] == ["eng", "po"]
    checks = shown["last_evaluation"]["checks"]  # the evidence the gate froze
    assert [c["criterion"] for c in checks] == ["absolute:error_rate"]
    wrong = runs.command(run, "vote", "po", role="eng", answer="launch")
    _problem(wrong, 403, "not_your_role")
    bad = runs.command(run, "vote", "po", role="po", answer="maybe")
    _problem(bad, 422, "invalid_request")
    first = runs.command(run, "vote", "eng", role="eng", answer="launch", comment="ok")
    assert first.json()["status"] == "awaiting_go_no_go"
    assert runs.show(run)["waiting_for"]["people"] == [PO]
    second = runs.command(run, "vote", "po", role="po", answer="launch")
    assert second.status_code == 200, second.text
    runs.tick()
    assert (runs.show(run)["status"], runs.show(run)["stage"]) == (
        "stage_running",
        "All",
    )
    percentage = runs.api.store.require_flag(FLAG).percentage_of_actors
    assert percentage is not None and percentage.value == 100.0
    # The vote that closed the gate, sent again (its answer lost on the way):
    # still refused (it may be meant for a gate not asked yet), and said to
    # have counted; nothing written.
    version = runs.show(run)["version"]
    again = runs.command(run, "vote", "po", role="po", answer="launch")
    _problem(again, 409, "not_waiting_for_that")
    detail = again.json()["detail"]
    assert f"counted at the last go/no-go (event {second.json()['events'][0]}" in detail
    assert runs.show(run)["version"] == version
    # Another answer is not that vote: refused without it.
    pause = runs.command(run, "vote", "po", role="po", answer="pause")
    _problem(pause, 409, "not_waiting_for_that")
    assert "counted" not in pause.json()["detail"]


def _outbox(runs: Runs) -> int:
    with runs.api.store.engine.connect() as conn:
        found = conn.execute(
            sa.select(sa.func.count()).select_from(notification_outbox)
        )
        return int(found.scalar_one())


def test_the_same_vote_sent_again_answers_as_the_first_and_writes_nothing(
    runs: Runs,
) -> None:
    run = runs.start()
    runs.to_go_no_go(run)
    first = runs.command(run, "vote", "eng", role="eng", answer="launch", comment="ok")
    assert first.status_code == 200, first.text
    written = (runs.api.store.version(), _outbox(runs), runs.show(run)["version"])
    runs.api.clock.advance(dt.timedelta(minutes=2))
    again = runs.command(run, "vote", "eng", role="eng", answer="launch", comment="ok")
    assert again.status_code == 200, again.text
    assert again.json() == first.json()  # the voted event and the version
    assert (runs.api.store.version(), _outbox(runs), runs.show(run)["version"]) == (
        written
    )
    reworded = runs.command(
        run, "vote", "eng", role="eng", answer="launch", comment="ok, dashboards too"
    )
    assert reworded.json()["version"] == written[2] + 1
    assert reworded.json()["events"] > first.json()["events"]
    log = runs.call("GET", f"/runs/{run}/log", "viewer").json()["events"]
    voted = [(e["seq"], e["data"]["comment"]) for e in log if e["kind"] == "voted"]
    assert voted == [
        (first.json()["events"][0], "ok"),
        (reworded.json()["events"][0], "ok, dashboards too"),
    ]
    # The gate still waits for the product owner: the repeats decided nothing.
    assert runs.show(run)["waiting_for"]["people"] == [PO]


def test_kill_needs_the_kill_role_and_re_enable_the_product_owner(runs: Runs) -> None:
    run = runs.start()
    runs.command(run, "sign", item=1)
    runs.tick()
    _problem(runs.command(run, "kill", "po", note="no"), 403, "not_your_role")
    killed = runs.command(run, "kill", "eng", note="errors on the dashboard")
    assert killed.status_code == 200, killed.text
    assert killed.json()["status"] == "rolled_back"
    assert killed.json()["flags_changed"] == [FLAG]
    assert runs.api.store.require_flag(FLAG).state == "off"
    incidents = runs.call("GET", f"/runs/{run}/incidents", "viewer").json()
    [incident] = incidents["incidents"]
    assert incident["incident"] == "I1"
    assert incident["record"]["trigger"] == "kill"
    assert runs.show(run)["incidents"][0]["incident"] == "I1"
    re_enable = {"root_cause": "a null check"}
    _problem(runs.command(run, "re-enable", "eng", **re_enable), 403, "not_your_role")
    runs.tick(dt.timedelta(minutes=5))  # the rollback's verification
    enabled = runs.command(run, "re-enable", "po", **re_enable)
    assert enabled.status_code == 200, enabled.text
    assert runs.api.store.require_flag(FLAG).state == "conditional"
    record = runs.call("GET", f"/runs/{run}/incidents", "viewer").json()
    assert "null check" in str(record["incidents"][0]["record"])


def test_pause_resume_incident_abort_and_a_finished_run_refuses(runs: Runs) -> None:
    run = runs.start()
    runs.command(run, "sign", item=1)
    runs.tick()
    assert runs.call("POST", f"/runs/{run}/pause").json()["status"] == "paused"
    _problem(runs.call("POST", f"/runs/{run}/pause"), 409, "not_waiting_for_that")
    assert runs.command(run, "resume", note="go on").json()["status"] == (
        "stage_running"
    )
    raised = runs.command(run, "incident", severity="critical", note="5xx spike")
    assert raised.status_code == 200, raised.text
    assert raised.json()["status"] == "rolled_back"
    _problem(
        runs.command(run, "incident", severity="odd", note="x"), 422, "invalid_request"
    )
    _problem(runs.command(run, "confirm-revert"), 409, "not_waiting_for_that")
    _problem(runs.command(run, "finish"), 409, "not_waiting_for_that")
    _problem(runs.command(run, "abort", "outsider"), 403, "not_your_role")
    assert runs.command(run, "abort", "po", note="stop").json()["status"] == "aborted"
    _problem(runs.command(run, "pause"), 409, "run_finished")
    _problem(runs.command(run, "complete"), 409, "run_finished")
    only_aborted = runs.call("GET", "/runs?status=aborted", "viewer").json()["runs"]
    assert [r["run"] for r in only_aborted] == [run]
    assert runs.call("GET", "/runs?status=paused", "viewer").json() == {"runs": []}


def test_a_question_the_plan_does_not_ask_is_refused(runs: Runs) -> None:
    run = runs.start()
    before = runs.command(run, "answer", question="Was it easy?", text="yes")
    _problem(before, 409, "not_waiting_for_that")
    runs.command(run, "sign", item=1)
    runs.tick()
    answer = runs.command(run, "answer", question="Was it easy?", text="yes")
    _problem(answer, 409, "unknown_question")


def test_a_revision_is_adopted_with_its_version_recorded(runs: Runs) -> None:
    run = runs.start()
    longer = PLAN.replace("hold: 1h", "hold: 2h", 1)
    revised = runs.call("POST", f"/runs/{run}/revise", "eng", YAML, content=longer)
    assert revised.status_code == 200, revised.text
    log = runs.call("GET", f"/runs/{run}/log", "viewer").json()["events"]
    assert "plan_adopted" in [e["kind"] for e in log] or runs.show(run)["version"] > 1
    bad = runs.call("POST", f"/runs/{run}/revise", json={"text": "name: [1"})
    _problem(bad, 422, "plan_invalid")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/runs/R9"),
        ("GET", "/runs/R9/log"),
        ("GET", "/runs/R9/incidents"),
        ("POST", "/runs/R9/kill"),
    ],
)
def test_an_unknown_run_is_not_found(runs: Runs, method: str, path: str) -> None:
    _problem(runs.call(method, path), 404, "not_found")


def test_pushed_events_go_to_the_runs_current_scope(runs: Runs) -> None:
    run = runs.start()
    runs.command(run, "sign", item=1)
    runs.tick(dt.timedelta(minutes=10))
    state = RunState.from_json(runs.show(run)["state"])
    scope = current_scope(run, state)
    at = runs.api.clock.now().isoformat()
    events = [
        {"type": "exposure", "at": at, "actor": "u1", "flag": FLAG, "variant": "on"},
        {
            "type": "request",
            "at": at,
            "actor": "u1",
            "status": 200,
            "route": "/a",
            "latency_ms": 9,
        },
    ]
    answer = runs.call(
        "POST", "/events", "sdk", json={"batch_key": "b1", "events": events}
    )
    assert answer.status_code == 200, answer.text
    assert (answer.json()["accepted"], answer.json()["unwatched"]) == (2, 0), (
        answer.json()["rejected"]
    )
    windows = WindowStore(runs.api.store.engine).windows(scope, FLAG)
    assert windows, f"nothing in {scope}"
    other = {
        "type": "exposure",
        "at": at,
        "actor": "u2",
        "flag": "other",
        "variant": "on",
    }
    stray = runs.call("POST", "/events", "sdk", json={"events": [other]})
    assert stray.json()["unwatched"] == 1


def test_metrics_count_runs_by_status_transitions_and_rollbacks(runs: Runs) -> None:
    run = runs.start()
    runs.command(run, "sign", item=1)
    runs.tick()
    runs.command(run, "kill", note="bad")
    text = runs.api.client.get("/metrics", headers=runs.api.headers("viewer")).text
    assert 'flagramp_runs{status="rolled_back"} 1.0' in text
    assert 'flagramp_runs{status="stage_running"} 0.0' in text
    assert 'flagramp_run_rollbacks_total{kind="killed"} 1.0' in text
    version = runs.show(run)["version"]
    assert f"flagramp_run_transitions_total {float(version)}" in text


def test_a_milestone_is_met_by_its_owner_and_shown_against_its_target(
    runs: Runs,
) -> None:
    plan = PLAN.replace(
        "prerequisites:",
        "milestones:\n  - {name: Staging review, target: 2020-01-01, owner: po}\n"
        "prerequisites:",
    )
    runs.start(plan)
    [before] = runs.show()["milestones"]
    assert (before["name"], before["target"], before["actual"]) == (
        "Staging review",
        "2020-01-01",
        None,
    )
    body = {"name": "Staging review", "note": "reviewed"}
    path = "/runs/R1/milestone"
    _problem(runs.call("POST", path, "outsider", json=body), 403, "not_your_role")
    _problem(runs.call("POST", path, "service", json=body), 403, "not_a_person")
    unknown = runs.call("POST", path, "po", json={"name": "No such"})
    assert unknown.status_code in (404, 409, 422), unknown.text
    met = runs.call("POST", path, "po", json=body)
    assert met.status_code == 200, met.text
    [after] = runs.show()["milestones"]
    today = runs.api.clock.now().date()
    assert (after["actual"], after["by"]) == (today.isoformat(), PO)
    assert after["days_late"] == (today - dt.date(2020, 1, 1)).days
