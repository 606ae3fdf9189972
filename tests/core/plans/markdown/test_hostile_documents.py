"""Documents that are too large, binary, too deep or no plan at all: one line each,
and text that tries to break out of the YAML stays a value."""

from __future__ import annotations

import pytest
import yaml

from flagramp.core.plans.compose import compose
from flagramp.core.plans.markdown import MAX_CHARS, DocumentUnreadable, import_markdown
from tests.core.plans.markdown.documents import FOUR_TOGGLES

STAGE = (
    "## Phase I: some_new_toggle\n\n### Stage A: Canary\n\n- Percentage of users: 5%\n"
)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x" * (MAX_CHARS + 1), "plan.md: the document holds 262,145 characters, "
         "more than the 262,144 a release plan may"),
        ("# Plan\n\nok\n\x00\x01binary", "plan.md:4: holds binary data (a NUL byte)"),
        ("".join("  " * depth + "- item\n" for depth in range(12)),
         "plan.md:9: nested more than 8 levels deep"),
        ("> " * 40 + "deep\n", "plan.md:1: nested more than 8 levels deep"),
        ("", "plan.md: no phases or stages in the release-plan template's shape"),
        ("# Notes\n\nJust some text, no stages.\n", "plan.md: no phases or stages"),
    ],
    ids=["huge", "binary", "nested-lists", "nested-quotes", "empty", "no-plan"],
)  # fmt: skip
def test_unreadable_documents_are_one_line_errors(text: str, message: str) -> None:
    with pytest.raises(DocumentUnreadable) as caught:
        import_markdown(text, "plan.md")
    said = str(caught.value)
    assert said.startswith(message)
    assert "\n" not in said


def test_a_list_nested_as_deep_as_allowed_is_read() -> None:
    nested = "".join("  " * depth + "- item\n" for depth in range(8))
    imported = import_markdown(STAGE + "\n" + nested, "plan.md")
    assert imported.stages == 1


@pytest.mark.parametrize(
    "evil",
    [
        "x\n  injected: true",
        "x  # not a comment",
        "'quoted' \"double\"",
        "{flow: mapping}",
        "[a, b]",
        "- dash",
        "*alias &anchor !!python/object:os.system",
        "\u202eright-to-left\u200b",
        "\x1b[31mred",
        "tab\there",
        ": colon",
        "% directive",
        "@ at",
        "` tick",
    ],
)
def test_text_from_the_document_stays_one_value(evil: str) -> None:
    document = (
        f"# {evil}\n\n"
        f"## Phase I: {evil} (some_new_toggle)\n\n"
        f"### Stage A: {evil}\n\n"
        f"- Percentage of users: 5%\n"
        f"- Length of time: 1 hr\n\n"
        f"#### Results\n"
        f"- Types of errors logged: {evil}\n"
        f"- {evil}?: {evil}\n"
    )
    imported = import_markdown(document, "plan.md")
    root, problems = compose(imported.yaml, "draft.yaml")
    assert problems == [] and root is not None
    data = yaml.safe_load(imported.yaml)
    assert "injected" not in _keys(data)
    assert list(data["phases"][0]) == ["name", "flags", "stages"]
    stage = data["phases"][0]["stages"][0]
    assert list(stage) == ["name", "percentage", "hold", "criteria", "record"]
    assert (stage["percentage"], stage["hold"]) == (5, "1h")
    for question in stage["record"]["questions"]:
        assert set(question) <= {"text", "answered_by", "answer", "yes_no"}


def _keys(node: object) -> set[str]:
    if isinstance(node, dict):
        return {str(k) for k in node} | {k for v in node.values() for k in _keys(v)}
    if isinstance(node, list):
        return {k for v in node for k in _keys(v)}
    return set()


def test_a_comment_cannot_end_its_line() -> None:
    document = FOUR_TOGGLES.replace(
        "- Desired date range: _\\[mm/dd/yy - mm/dd/yy\\]_",
        "- Desired date range: Aug 22\u2028injected: true",
        1,
    )
    imported = import_markdown(document, "plan.md")
    assert "injected" not in _keys(yaml.safe_load(imported.yaml))
    root, problems = compose(imported.yaml, "draft.yaml")
    assert problems == [] and root is not None
