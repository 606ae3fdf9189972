"""User text made safe for a terminal; counts and suggestions in English."""

from __future__ import annotations

import unicodedata

import pytest

from flagramp.cli.text import count, did_you_mean, shown


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ehr in [oracle, cerner]", "ehr in [oracle, cerner]"),
        ("ehr in [/oracle]", "ehr in [/oracle]"),
        ("[bold red]x[/] :smile:", "[bold red]x[/] :smile:"),
        ("Müller — 日本語 — 🚀", "Müller — 日本語 — 🚀"),
        ("a\x1b[31mred\x1b[0m", "a\\x1b[31mred\\x1b[0m"),
        ("line1\nline2\r\n", "line1\\nline2\\r\\n"),
        ("tab\there", "tab\\there"),
        ("nul\x00bell\x07del\x7f", "nul\\x00bell\\x07del\\x7f"),
        ("c1 csi \x9b31m", "c1 csi \\x9b31m"),
        ("rtl \u202eevil\u202c", "rtl \\u202eevil\\u202c"),
        ("isolate \u2066x\u2069", "isolate \\u2066x\\u2069"),
        ("zero\u200bwidth \ufeff", "zero\\u200bwidth \\ufeff"),
        ("sep\u2028para\u2029", "sep\\u2028para\\u2029"),
        ("not utf-8 \udcff", "not utf-8 \\udcff"),
        ("tag \U000e0041", "tag \\U000e0041"),
        ("no-break\u00a0space", "no-break\u00a0space"),
        ("back\\slash \\x1b", "back\\slash \\x1b"),
    ],
    ids=[
        "brackets", "closing-tag", "markup-and-emoji-codes", "non-ascii", "esc",
        "newlines", "tab", "c0-and-del", "c1", "rtl-override", "bidi-isolates",
        "zero-width", "line-separators", "surrogate", "tag-character", "nbsp",
        "backslashes-as-typed",
    ],
)  # fmt: skip
def test_shown_escapes_what_could_act_on_a_terminal(text: str, expected: str) -> None:
    assert shown(text) == expected


def test_shown_leaves_nothing_unprintable_but_spaces() -> None:
    every = "".join(chr(c) for c in range(0x3000)) + "\U000e0001\U0010ffff"
    left = {c for c in shown(every) if not c.isprintable()}
    assert left and all(unicodedata.category(c) == "Zs" for c in left)


@pytest.mark.parametrize(
    ("number", "noun", "plural", "expected"),
    [
        (0, "phase", None, "0 phases"),
        (1, "phase", None, "1 phase"),
        (2, "stage", None, "2 stages"),
        (1, "flag", None, "1 flag"),
        (12_345, "row", None, "12,345 rows"),
        (2, "entry", "entries", "2 entries"),
    ],
)
def test_count_reads_as_english(
    number: int, noun: str, plural: str | None, expected: str
) -> None:
    assert count(number, noun, plural) == expected


@pytest.mark.parametrize(
    ("word", "choices", "expected"),
    [
        ("lst", ["list", "show"], "; did you mean 'list'?"),
        ("x", ["X", "y_long_name"], "; did you mean 'X'?"),
        ("svc_v3", ["svc_v2", "requests"], "; did you mean 'svc_v2'?"),
        ("zzz", ["list", "show"], ""),
        ("a", [], ""),
    ],
)  # fmt: skip
def test_did_you_mean(word: str, choices: list[str], expected: str) -> None:
    assert did_you_mean(word, choices) == expected
