"""What people type comes out as text; numbers and missing values come out in words;
a run record survives JSON."""

from __future__ import annotations

import datetime as dt
import json
import math
from html.parser import HTMLParser

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flagramp.core.errors import ReportError
from flagramp.reports import Pending, RunEvent, RunRecord
from flagramp.reports.fmt import NO_DATA, number
from flagramp.reports.model import GoNoGoReport, VoteRow
from flagramp.reports.placeholders import visible_text
from flagramp.reports.templating import html_environment, markdown_text

AT = dt.datetime(2026, 1, 5, 14, 0, tzinfo=dt.UTC)
# Text a person may type: any printable character, markup included.
TYPED = st.text(
    st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=60
).filter(lambda s: s.strip() != "")


def _gate(comment: str) -> GoNoGoReport:
    vote = VoteRow("VAOS Product Owner", "po@va.gov", "launch", AT, comment)
    waiting = (Pending("not answered yet", "Business Stakeholders (b@va.gov)"),)
    return GoNoGoReport(("VAOS Product Owner",), None, AT, (vote,), waiting, "wait", ())


@given(TYPED)
def test_a_comment_is_shown_as_text_in_html(comment: str) -> None:
    page = html_environment().get_template("_gate.html.j2").render(g=_gate(comment))
    assert " ".join(comment.split()) in " ".join(visible_text(page).split())
    # Only the partial's own elements: nothing the comment brought in.
    assert _tags(page) <= {"div", "p", "strong", "ul", "li", "q", "em"}


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.seen: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.seen.add(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.seen.add(tag)


def _tags(page: str) -> set[str]:
    parser = _Tags()
    parser.feed(page)
    return parser.seen


@given(TYPED)
def test_a_comment_in_markdown_is_one_line_without_markup(comment: str) -> None:
    text = markdown_text(comment)
    assert "\n" not in text and "<" not in text and ">" not in text
    assert "|" not in text.replace("\\|", "")


@given(st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)))
def test_numbers_are_never_blank(value: float | None) -> None:
    shown = number(value, "%")
    assert shown.strip()
    if value is None or not math.isfinite(value):
        assert shown == NO_DATA
    else:
        assert shown.endswith(" %") and "nan" not in shown


@pytest.mark.parametrize(
    ("value", "unit", "shown"),
    [
        (1234.0, "", "1,234"),
        (14.2857, "%", "14.29 %"),
        (0.0, "%", "0 %"),
        (0.00412, "ms", "0.00412 ms"),
        (250.6, "ms", "251 ms"),
        (Pending("not reached yet"), "%", "not reached yet"),
    ],
)
def test_numbers_as_people_write_them(value: object, unit: str, shown: str) -> None:
    assert number(value, unit) == shown


def test_a_run_record_survives_json() -> None:
    record = RunRecord(
        run="R1",
        plan_text="name: x\n",
        environment="production",
        status="stage_running",
        created_at=AT,
        events=(
            RunEvent(1, AT, "run_started", None, {"plan": "x"}),
            RunEvent(2, AT, "voted", "po@va.gov", {"role": "po", "answer": "launch"}),
        ),
        incidents={"I1": {"severity": "critical"}},
        state={"stage_results": []},
    )
    again = RunRecord.from_json(json.loads(json.dumps(record.to_json())))
    assert again == record


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"events": {}}, "`events` must be a list"),
        ({"created_at": "2026-01-05T14:00:00"}, "must carry a time zone"),
        ({"created_at": "monday"}, "must be an ISO date-time"),
        ({"events": [{"seq": "1"}]}, "`seq` must be an integer"),
        ({"run": 7}, "`run` must be a string"),
    ],
)
def test_a_malformed_run_record_names_its_field(
    change: dict[str, object], message: str
) -> None:
    document: dict[str, object] = {
        "run": "R1",
        "plan_text": "",
        "environment": "production",
        "status": "x",
        "created_at": AT.isoformat(),
    }
    with pytest.raises(ReportError, match=message):
        RunRecord.from_json({**document, **change})
