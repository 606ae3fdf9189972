"""The example plans: valid, lint-clean, schema-valid, and faithful to their seeds."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from flagramp.core.plans import LoadedPlan, Question, lint, load_plan, plan_schema
from flagramp.core.plans.compose import compose
from flagramp.core.plans.nodes import Node, strings, to_data

REPO = Path(__file__).parents[2]
EXAMPLES = REPO / "examples"
SEEDS = REPO / ".." / "shared" / "seeds"

#: Example file → the seeds it is written from.
SOURCES = {
    "vaos-service-integration.yaml": ["000"],
    "secure-messaging-oracle-health.yaml": ["001", "002"],
    "uae-appointments-dark-deploy.yaml": ["003"],
    "tmp-deployment.yaml": ["004"],
}

#: Seed lines that state criteria or stages (where their numbers live).
_CRITERIA_OR_STAGE = re.compile(
    r"percentage of users|length of time|success criteria|number of users|"
    r"\d+\s*%|\d+-\d+ weeks|installs within|approximately \d+ (?:day|pm)|"
    r"deployment date – ",
    re.I,
)
#: Template hints in the seeds, not numbers the team chose.
_TEMPLATE_LINE = re.compile(r"it could be things like|use your kpis", re.I)
#: Results lines that are metrics or KPI actuals, not questions for people.
_NOT_QUESTIONS = re.compile(
    r"^(metrics at this stage|post-launch kpi|desired date)", re.I
)


def _seed_text(number: str) -> str:
    (path,) = SEEDS.glob(f"{number}_*.txt")
    return path.read_text(encoding="utf-8")


def _load(name: str) -> LoadedPlan:
    return load_plan((EXAMPLES / name).read_text(encoding="utf-8"), name)


def _numbers(text: str) -> set[str]:
    return {n.lstrip("0") or "0" for n in re.findall(r"\d+(?:\.\d+)?", text)}


def _plan_numbers(root: Node) -> set[str]:
    found: set[str] = set()
    stack: list[object] = [to_data(root)]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int | float):
            found |= _numbers(f"{item:g}")
        else:
            found |= _numbers(str(item))
    return found


def seed_numbers(text: str) -> set[str]:
    """Numbers in a seed's criteria and stage lines (not its template hints)."""
    numbers: set[str] = set()
    for line in text.splitlines():
        if _CRITERIA_OR_STAGE.search(line) and not _TEMPLATE_LINE.search(line):
            numbers |= _numbers(re.sub(r"\(.*?\)|\[.*?\]|https?://\S+", "", line))
    return numbers


def seed_criteria_numbers(text: str) -> set[str]:
    """Numbers in the success criteria the seed suggests (`abandonment rate < 20%`)."""
    return {n for n in re.findall(r"<\s*(\d+)", text)}


def seed_questions(text: str) -> list[str]:
    """Questions people answer in the seed's results and post-launch sections."""
    questions: list[str] = []
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#") or (line.startswith("**") and line.endswith("**")):
            section = line.lower()
            continue
        if "results" in section:
            # Top-level items only: indented ones are answers' details.
            match = re.match(r"^-\s*(.+?)(\?|:)", raw)
            if match and not _NOT_QUESTIONS.match(match[1]):
                questions.append(match[1] + (match[2] if match[2] == "?" else ""))
        elif "post-launch questions" in section:
            match = re.match(r"^\d+\.\s*(.+)$", line)
            if match:
                questions.append(match[1])
    return questions


def _normal(text: str) -> str:
    text = re.sub(r"\[pick_one\]", "", text.lower())
    return re.sub(r"[\s?:*_]+", " ", text).strip()


def _plan_questions(loaded: LoadedPlan) -> list[str]:
    plan = loaded.plan
    found: list[Question] = []
    for phase in plan.phases:
        found.extend(phase.record.questions if hasattr(phase, "record") else ())
        for stage in getattr(phase, "stages", ()):
            found.extend(stage.record.questions)
    if plan.go_live is not None:
        found.extend(plan.go_live.questions)
        for checkpoint in plan.go_live.checkpoints:
            found.extend(checkpoint.record.questions)
    return [_normal(q.text) for q in found]


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_example_validates_and_lints_clean(name: str) -> None:
    loaded = _load(name)
    assert [str(w) for w in lint(loaded)] == []


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_example_validates_against_the_json_schema(name: str) -> None:
    root, problems = compose((EXAMPLES / name).read_text(encoding="utf-8"), name)
    assert root is not None, problems
    jsonschema.validate(to_data(root), plan_schema())


def test_the_schema_beside_the_examples_is_current() -> None:
    saved = json.loads((EXAMPLES / "plan.schema.json").read_text(encoding="utf-8"))
    assert saved == json.loads(json.dumps(plan_schema()))


def test_every_seed_has_an_example() -> None:
    seeds = sorted(p.name[:3] for p in SEEDS.glob("*.txt"))
    assert seeds == sorted(s for sources in SOURCES.values() for s in sources)


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_every_number_of_the_seed_criteria_and_stages_is_in_the_example(
    name: str,
) -> None:
    root = _load(name).root
    have = _plan_numbers(root)
    for seed in SOURCES[name]:
        text = _seed_text(seed)
        wanted = seed_numbers(text) | seed_criteria_numbers(text)
        assert wanted, f"no numbers read from seed {seed}"
        assert wanted - have == set(), f"seed {seed}"


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_every_results_question_of_the_seed_is_a_question_in_the_example(
    name: str,
) -> None:
    have = _plan_questions(_load(name))
    for seed in SOURCES[name]:
        for question in seed_questions(_seed_text(seed)):
            assert any(_normal(question) in q for q in have), (seed, question)


@pytest.mark.parametrize(
    ("seed", "count"), [("000", 30), ("001", 14), ("002", 28), ("003", 0), ("004", 0)]
)
def test_questions_are_read_from_the_seeds(seed: str, count: int) -> None:
    # Guards the reader above: if it read nothing, the test before proves nothing.
    assert len(seed_questions(_seed_text(seed))) >= count


def test_seed_000_stages_and_criteria_are_exact() -> None:
    plan = _load("vaos-service-integration.yaml").plan
    canaries = [(p.stages[0].percentage, str(p.stages[0].hold)) for p in plan.phases]  # type: ignore[union-attr]
    assert canaries == [(5, "1h"), (5, "2h"), (10, "2h"), (5, "1h")]
    rules = [c.rule() for c in plan.phases[0].stages[0].criteria]  # type: ignore[union-attr]
    assert rules == [
        "abandonment_rate below 20",
        "contact_center_calls fewer than 2 per stage (treatment)",
        "error_rate below 5",
    ]


def test_examples_carry_no_placeholder_text() -> None:
    for name in SOURCES:
        root = _load(name).root
        for _, node in strings(root):
            assert "lorem" not in str(node.value).lower()
