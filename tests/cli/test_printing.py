"""User text is printed as typed: brackets and markup-like text kept, non-ASCII
kept, control, bidi and line-breaking characters escaped so that none reaches a
terminal raw. Counts read as English; history numbers a flag's own entries."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flagramp.cli import output
from flagramp.store import FlagStore
from tests.cli.conftest import Invoke, assert_one_error
from tests.core.plans.sample import BASE

KEY = "ramp[/i]"
HOSTILE = "rtl \u202eevil\u202c [bold]x[/bold] [/oracle] :smile: é\n\x1b]0;pwned\x07\r"
SHOWN = (
    "rtl \\u202eevil\\u202c [bold]x[/bold] [/oracle] :smile: é\\n\\x1b]0;pwned\\x07\\r"
)
RAW = ("\x1b", "\u202e", "\u202c", "\x07", "\r")


@pytest.fixture(autouse=True)
def wide_consoles(monkeypatch: pytest.MonkeyPatch) -> None:
    # Rich fixes a console's width from COLUMNS when it is made (at import; 80
    # under xdist); these tests look for whole cells, so give them room.
    for console in (output.console, output.err_console):
        monkeypatch.setattr(console, "width", 250)


@pytest.fixture
def hostile_store(cli: Invoke) -> None:
    steps = [
        ["flags", "create", KEY, "--description", HOSTILE],
        ["flags", "segment", "define", "s[/x]", "ehr in [/oracle]", "--description",
         HOSTILE],
        ["flags", "segment", "apply", KEY, "s[/x]", "--why", HOSTILE],
        ["flags", "actor", "add", KEY, "User;[bold]1", "--who", "[red]eve[/red]"],
        ["flags", "percent", KEY, "25", "--why", HOSTILE],
    ]  # fmt: skip
    for args in steps:
        result = cli(*args)
        assert result.exit_code == 0, result.output
        assert not any(c in result.output for c in RAW), result.output


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["flags", "list"], [KEY, SHOWN]),
        (["flags", "show", KEY], [f"{KEY} in production", "User;[bold]1", "s[/x]",
                                  SHOWN]),
        (["flags", "history", KEY], ["[red]eve[/red]", SHOWN, "1 actor"]),
        (["flags", "segment", "list"], ["s[/x]", "ehr in [/oracle]", SHOWN]),
        (["eval", KEY, "--actor", "User;[bold]1", "--prop", "ehr=/oracle"],
         [f"{KEY} for User;[bold]1: on — actor: User;[bold]1 is on"]),
    ],
    ids=["list", "show", "history", "segments", "eval"],
)  # fmt: skip
def test_hostile_text_is_printed_as_typed_and_escaped(
    cli: Invoke, hostile_store: None, args: list[str], expected: list[str]
) -> None:
    result = cli(*args)
    assert result.exit_code == 0, result.output
    for text in expected:
        assert text in result.stdout, (text, result.stdout)
    assert not any(c in result.output for c in RAW)


def test_errors_print_user_text_as_typed_on_one_line(cli: Invoke) -> None:
    assert_one_error(
        cli("flags", "show", "[/bold]x"), "no flag '[/bold]x' in environment"
    )
    assert_one_error(
        cli("flags", "import", "odd\nname[/x].json"),
        "odd\\nname[/x].json: no such file",
    )


def test_export_to_a_terminal_escapes_what_json_allows_raw(
    cli: Invoke, tmp_path: Path
) -> None:
    assert cli("flags", "create", "k\u202e").exit_code == 0
    printed = cli("flags", "export").stdout
    assert "\u202e" not in printed and "k\\u202e" in printed
    written = tmp_path / "out.json"
    assert cli("flags", "export", "-o", str(written)).exit_code == 0
    assert json.loads(written.read_text()) == json.loads(printed)


def test_a_plan_with_markup_and_escapes_in_its_text_shows_as_written(
    cli: Invoke, tmp_path: Path
) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        BASE.replace(
            "title: Demo release", 'title: "Demo [/bold] \\e[2J release"'
        ).replace("- name: Canary", "- name: '[red]Canary'"),
        encoding="utf-8",
    )
    result = cli("plan", "show", str(plan), "--start", "2026-03-02T09:00+00:00")
    assert result.exit_code == 0, result.output
    assert "Demo [/bold] \\x1b[2J release (demo, revision 1)" in result.stdout
    assert "[red]Canary: 5 % for 2h" in result.stdout
    assert "\x1b" not in result.output


def test_history_numbers_the_flags_own_entries(cli: Invoke, store: FlagStore) -> None:
    for args in (["flags", "create", "a"], ["flags", "create", "b"],
                 ["flags", "enable", "a"], ["flags", "percent", "b", "5"]):  # fmt: skip
        assert cli(*args).exit_code == 0
    entries = json.loads(cli("flags", "history", "b", "--json").stdout)
    assert [(e["number"], e["action"]) for e in entries] == [
        (1, "create"),
        (2, "percentage_of_actors"),
    ]
    assert [e["audit_row"] for e in entries] == [2, 4]
    table = cli("flags", "history", "b").stdout
    rows = [line.split("│")[1].strip() for line in table.splitlines() if "│" in line]
    assert rows == ["1", "2"]


def test_counts_read_as_english(cli: Invoke, tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(BASE.replace("title: Demo release", "title: TBD"), "utf-8")
    assert f"ok: {plan}: 1 phase, 3 stages" in cli("plan", "validate", str(plan)).stdout
    assert cli("plan", "lint", str(plan)).stdout.endswith(f"{plan}: 1 warning\n")
    assert cli("flags", "create", "k").exit_code == 0
    assert "audit log verifies: 1 row, chain intact" in cli("audit", "verify").stdout
    cli("flags", "actor", "add", "k", "a")
    cli("flags", "deny", "k", "b")
    assert "1 actor; 1 actor denied" in cli("flags", "list").stdout
    export = tmp_path / "one.json"
    cli("flags", "export", "-o", str(export))
    cli("flags", "disable", "k")
    imported = cli("flags", "import", str(export)).stdout
    assert f"imported {export}: 1 flag changed in production" in imported


def test_plan_show_names_a_phase_s_flag_once(cli: Invoke) -> None:
    example = Path(__file__).parents[2] / "examples" / "vaos-service-integration.yaml"
    shown = cli("plan", "show", str(example)).stdout
    flag = "va_online_scheduling_facilities_service_v2"
    (title,) = [line for line in shown.splitlines() if "── Phase I:" in line]
    assert title.endswith(f"── Phase I: {flag}")
