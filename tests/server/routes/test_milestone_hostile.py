"""`POST /api/v1/runs/{run}/milestone` attacked: twice, by a viewer's token,
on another run id, with names that are no milestone (control characters,
unicode look-alikes, too long): each is a 4xx problem and records nothing."""

from __future__ import annotations

from tests.server.routes.run_plan import PLAN
from tests.server.routes.runs_kit import Runs, runs

__all__ = ["runs"]

MILESTONES = (
    "milestones:\n  - {name: Staging review, target: 2020-01-01, owner: po}\n"
    "prerequisites:"
)


def test_a_milestone_is_met_once_by_a_person_of_its_roles(runs: Runs) -> None:
    runs.start(PLAN.replace("prerequisites:", MILESTONES))
    body = {"name": "Staging review"}
    path = "/runs/R1/milestone"
    viewer = runs.call("POST", path, "viewer", json=body)
    assert viewer.status_code == 403, viewer.text
    for name in ["Staging review\n", "Staging\x00review", "Ѕtaging review", "x" * 201]:
        refused = runs.call("POST", path, "po", json={"name": name})
        assert 400 <= refused.status_code < 500, (name, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"
    other = runs.call("POST", "/runs/R999/milestone", "po", json=body)
    assert other.status_code == 404, other.text
    assert runs.call("POST", path, "po", json=body).status_code == 200
    again = runs.call("POST", path, "po", json=body)
    assert (again.status_code, again.json()["code"]) == (409, "already_done")
    [met] = runs.show()["milestones"]
    assert met["actual"] is not None
