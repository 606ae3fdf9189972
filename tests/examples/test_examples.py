"""The example plans: valid, lint-clean, schema-valid, and true to their seeds.

The seeds live outside the repository; what the tests check of them is written
here: every number the seeds' criteria, stages and dates use, and every question
their results and post-launch sections ask. `test_seed_facts.py` checks where
each of those lands in the model.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from flagramp.core.plans import LoadedPlan, Question, lint, load_plan, plan_schema
from flagramp.core.plans.compose import compose
from flagramp.core.plans.nodes import strings, to_data

EXAMPLES = Path(__file__).parents[2] / "examples"
NAMES = sorted(p.name for p in EXAMPLES.glob("*.yaml"))

#: Example file → the seeds it is written from.
SOURCES = {
    "vaos-service-integration.yaml": ("000",),
    "secure-messaging-oracle-health.yaml": ("001", "002"),
    "uae-appointments-dark-deploy.yaml": ("003",),
    "tmp-deployment.yaml": ("004",),
}

#: Numbers of each seed's criteria, stages, dates and sizes, as the seed writes
#: them ("4 toggles", "5%", "1 hr", "< 20%", "Aug 22 - Sept 4", "9/2/25",
#: "60-120 minutes", "Approximately 10 pm", "7/26/2023").
SEED_NUMBERS = {
    "000": {"4", "5", "1", "2", "10", "20"},
    "001": {"22", "4", "2", "23", "9", "5", "6", "25"},
    "002": {"5", "25", "50", "75", "100", "1", "15"},
    "003": {"1", "5", "20", "100", "2", "22", "2026"},
    "004": {"5.0.4", "1", "60", "120", "10", "7", "26", "2023"},
}

#: The questions people answer in each seed's results and post-launch sections.
_STANDARD_POST_LAUNCH = (
    "How do the KPIs you gathered compare to your pre-launch definition(s) of "
    '"success"?',
    "What qualitative feedback have you gathered from users or other stakeholders, "
    "if any?",
    "Which of the assumptions you listed in your product outline were/were not "
    "validated?",
    "How might your product evolve now or in the future based on these results?",
)
SEED_QUESTIONS = {
    "000": (
        "Was the data submitted (if any) easy for VA to process?",
        "Types of errors logged",
        "Number of unique users",
        "Any issues with VA handling/processing?",
        "Any UX changes necessary based on the logs, or feedback on user challenges, "
        "or VA challenges?",
        "If yes, what",
        *_STANDARD_POST_LAUNCH,
    ),
    "001": (
        "Number of users",
        "Number of bugs identified / fixed",
        "Was any downstream service affected by the change?",
        "Types of errors logged",
        "Any changes necessary based on the logs, feedback on user challenges, or VA "
        "challenges?",
        "Latency",
        *_STANDARD_POST_LAUNCH,
    ),
    "002": (
        "Number of unique users",
        "Was any downstream service affected by the change?",
        "Types of errors logged",
        "What changes (if any) are necessarily based on the logs, feedback on user "
        "challenges, or VA challenges?",
        "What percentage of overall SM users are sending new messages each month?",
        "How many do they send on average?",
        "What is the breakdown of those users on mobile v. desktop devices (web)?",
        "How many VHAB mobile app users send new messages each month?",
        "Pie chart: What % of users are sending messages across each of these spaces:",
        'Does the expansion of the "start a new message" flow impact the # of users '
        "submitting messages in a negative way?",
        "Is the the /new-message/recent page serving most users?",
        "What percentage of new messages throw an error upon submission?",
    ),
    "003": (),
    "004": (),
}


def _load(name: str) -> LoadedPlan:
    return load_plan((EXAMPLES / name).read_text(encoding="utf-8"), name)


def _numbers(text: str) -> set[str]:
    found = {n.lstrip("0") or "0" for n in re.findall(r"\d+(?:\.\d+)*", text)}
    return found | {n.lstrip("0") or "0" for n in re.findall(r"\d+", text)}


def _plan_numbers(loaded: LoadedPlan) -> set[str]:
    found: set[str] = set()
    stack: list[object] = [to_data(loaded.root)]
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


def _normal(text: str) -> str:
    return re.sub(r"[\s?:*_]+", " ", text.lower()).strip()


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
    texts: list[str] = []
    while found:
        question = found.pop()
        texts.append(_normal(question.text))
        if question.follow_up is not None:
            found.append(question.follow_up)
    return texts


def test_every_example_has_its_seeds_and_every_seed_an_example() -> None:
    assert sorted(SOURCES) == NAMES
    seeds = sorted(s for sources in SOURCES.values() for s in sources)
    assert seeds == sorted(SEED_NUMBERS) == sorted(SEED_QUESTIONS)


@pytest.mark.parametrize("name", NAMES)
def test_example_validates_and_lints_clean(name: str) -> None:
    assert [str(w) for w in lint(_load(name))] == []


@pytest.mark.parametrize("name", NAMES)
def test_example_validates_against_the_json_schema(name: str) -> None:
    root, problems = compose((EXAMPLES / name).read_text(encoding="utf-8"), name)
    assert root is not None, problems
    data = to_data(root)
    assert isinstance(data, dict)
    jsonschema.validate(data, plan_schema())


def test_the_schema_beside_the_examples_is_current() -> None:
    saved = json.loads((EXAMPLES / "plan.schema.json").read_text(encoding="utf-8"))
    assert saved == json.loads(json.dumps(plan_schema()))


@pytest.mark.parametrize("name", NAMES)
def test_every_number_of_the_seeds_is_in_the_example(name: str) -> None:
    have = _plan_numbers(_load(name))
    for seed in SOURCES[name]:
        assert SEED_NUMBERS[seed] - have == set(), f"seed {seed}"


@pytest.mark.parametrize("name", NAMES)
def test_every_question_of_the_seeds_is_a_question_in_the_example(name: str) -> None:
    have = _plan_questions(_load(name))
    for seed in SOURCES[name]:
        for question in SEED_QUESTIONS[seed]:
            assert any(_normal(question) in q for q in have), (seed, question)


def test_the_number_reader_finds_what_it_should() -> None:
    # Guards the helpers above: if they read nothing, the tests prove nothing.
    assert _numbers("Release 5.0.4, 60-120 minutes, 07/26") == {
        "5.0.4", "5", "0", "4", "60", "120", "7", "26",
    }  # fmt: skip
    assert len(_plan_questions(_load("secure-messaging-oracle-health.yaml"))) > 30


def test_examples_carry_no_placeholder_text() -> None:
    for name in NAMES:
        for _, node in strings(_load(name).root):
            text = str(node.value).lower()
            assert "lorem" not in text and "link here" not in text, (name, text)
