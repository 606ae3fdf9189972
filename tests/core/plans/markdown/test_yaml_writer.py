"""The comment-keeping YAML writer: any text stays one value, comments stay one
line, and the plan loader reads back exactly what was written."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from flagramp.core.plans.compose import compose
from flagramp.core.plans.markdown.yaml_writer import (
    MAX_COMMENT,
    Mapping,
    Scalar,
    Sequence,
    write,
)
from flagramp.core.plans.nodes import MappingNode, SequenceNode, to_data

# Text as a document can hold it: anything but lone surrogates.
texts = st.text(st.characters(codec="utf-8"), max_size=60)


@settings(max_examples=300, deadline=None)
@given(texts, texts)
def test_any_text_reads_back_as_written_and_the_comment_stays_a_comment(
    value: str, comment: str
) -> None:
    root = Mapping()
    root.add("key", Scalar(value, comment))
    items = Sequence()
    items.add(Scalar(value, comment), above=(comment,))
    root.add("items", items, above=(comment,))
    written = write(root, header=(comment,))
    node, problems = compose(written.text, "draft.yaml")
    assert problems == []
    assert isinstance(node, MappingNode)
    assert to_data(node) == {"key": value, "items": [value]}
    assert written.lines == {
        "key": 1 + _header_lines(written.text),
        "items[0]": written.lines["items[0]"],
    }


def _header_lines(text: str) -> int:
    count = 0
    for line in text.splitlines():
        if not line.startswith("#"):
            return count
        count += 1
    return count


def test_values_of_every_kind_and_empty_parts() -> None:
    root = Mapping()
    root.add("number", Scalar(2.5))
    root.add("whole", Scalar(5.0))
    root.add("count", Scalar(3))
    root.add("yes", Scalar(True))
    root.add("day", Scalar(dt.date(2027, 1, 15)))
    root.add("none", Mapping())
    root.add("nothing", Sequence())
    nested = Sequence()
    nested.add(Mapping())
    nested.add(Sequence())
    root.add("nested", nested)
    written = write(root, header=("", "a header"))
    assert written.text.splitlines()[:2] == ["#", "# a header"]
    node, problems = compose(written.text, "draft.yaml")
    assert problems == [] and isinstance(node, MappingNode)
    assert to_data(node) == {
        "number": 2.5, "whole": 5, "count": 3, "yes": True, "day": "2027-01-15",
        "none": {}, "nothing": [], "nested": [{}, []],
    }  # fmt: skip
    pair = node.get("nested")
    assert pair is not None and isinstance(pair[1], SequenceNode)


def test_a_long_comment_is_cut() -> None:
    root = Mapping()
    root.add("key", Scalar("TBD", "x" * 1_000))
    line = write(root).text.splitlines()[0]
    assert line.endswith("…") and len(line) < MAX_COMMENT + 20
    assert write(root).tbds == ((1, "key"),)
