"""The placeholder scan: the seeds' placeholders are found, ordinary text is not."""

from __future__ import annotations

import pytest

from flagramp.reports import find_placeholders

FOUND = [
    ("- Metrics at this stage: x", "a lone x"),
    ("- Post-launch KPI 1: xx lorem ipsum", "a lone x"),
    ("- Number of unique users: XX", "a lone x"),
    ("Types of errors logged: Lorem Ipsum", "lorem ipsum"),
    ("- Links to dashboard(s): _[link here]_", "link here"),
    ("- Desired date: mm/dd/yy", "mm/dd/yy"),
    ("- Any changes necessary? [PICK_ONE]: No", "[PICK_ONE]"),
    ("- Desired date range: TBD", "TBD"),
]
NOT_FOUND = [
    "- [x] HSRM is launched and live",
    "the x-axis shows time; 0x1f; max 5; xkcd; 4×5",
    "error_rate below 5 (critical, rollback)",
    "not answered yet — VAOS Product Owner (po@va.gov)",
    "https://example.org/x/y",
]


@pytest.mark.parametrize(("text", "kind"), FOUND)
def test_seed_placeholders_are_found(text: str, kind: str) -> None:
    found = find_placeholders(f"# Report\n{text}\n")
    assert (kind, 2) in {(f.kind, f.line) for f in found}


@pytest.mark.parametrize("text", NOT_FOUND)
def test_ordinary_text_is_no_placeholder(text: str) -> None:
    assert find_placeholders(text) == ()


def test_html_is_scanned_as_the_reader_sees_it() -> None:
    page = (
        '<html><style>.x { color: red }</style><body><svg><rect x="1" y="2"/>'
        "<text>limit 5 %</text></svg><p>Value: x</p></body></html>"
    )
    (found,) = find_placeholders(page, html=True)
    assert found.kind == "a lone x" and "Value: x" in found.text
    assert find_placeholders(page.replace("Value: x", "Value: 3"), html=True) == ()
