"""Hostile and careless input through the real CLI: one line on stderr, exit code
1, no traceback, and nothing written to the store."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from flagramp.core.flags.expressions import MAX_DEPTH
from flagramp.store import FlagStore
from tests.cli.conftest import Invoke, assert_one_error, store_state
from tests.streams import endless_fifo

KEY = "va_online_scheduling_facilities_service_v2"


def _nested(depth: int) -> str:
    return '{"All": [' * depth + "true" + "]}" * depth


# (id, arguments, what the one line says). `{tmp}` is a directory of files made
# for the test: deep.json, deep.yml, latin1.json, a directory, and a FIFO that
# never ends.
CASES = [
    ("negative-percent", ["flags", "percent", KEY, "-5"],
     "percentage '-5' must be a number from 0 to 100"),
    ("percent-extra-option", ["flags", "percent", KEY, "5", "--bogus"],
     "got unexpected extra argument"),
    ("unknown-option", ["flags", "enable", KEY, "--bogus"],
     "no such option: --bogus (see 'flagramp flags enable --help')"),
    ("negative-number-as-option", ["flags", "enable", KEY, "-5"],
     "no such option: -5; a negative number reads as an option"),
    ("misspelt-option", ["flags", "list", "--jsn"], "did you mean"),
    ("unknown-command", ["flags", "bogus"],
     "no such command 'bogus' (see 'flagramp flags --help')"),
    ("misspelt-command", ["flags", "lst"],
     "no such command 'lst'; did you mean 'list'?"),
    ("misspelt-group", ["flgs"], "did you mean 'flags'?"),
    ("unknown-root-option", ["--nope"], "no such option: --nope"),
    ("missing-argument", ["flags", "create"], "missing argument 'KEY'"),
    ("missing-second-argument", ["flags", "percent", KEY],
     "missing argument 'PERCENTAGE'"),
    ("misspelt-flag-key", ["flags", "show", KEY[:-1] + "3"],
     f"no flag '{KEY[:-1]}3' in environment 'production'; did you mean '{KEY}'?"),
    ("flag-key-in-capitals", ["flags", "enable", KEY.upper()],
     f"did you mean '{KEY}'?"),
    ("not-utf8-key", ["flags", "create", "a\udcffb"],
     "argument 3 is not UTF-8 text: a\\xffb"),
    ("not-utf8-option", ["flags", "create", "k", "--description", "\udcfe"],
     "argument 5 is not UTF-8 text: \\xfe"),
    ("not-utf8-rule", ["flags", "segment", "define", "s", "ehr == \udcff"],
     "argument 5 is not UTF-8 text"),
    ("lone-surrogate", ["flags", "create", "\ud800"],
     "argument 3 is not UTF-8 text: \\ud800"),
    ("expression-past-the-limit", ["flags", "expression", KEY, _nested(MAX_DEPTH + 1)],
     f"functions are nested more than {MAX_DEPTH} deep"),
    ("json-past-the-decoder", ["flags", "expression", KEY, "[" * 9_999 + "]" * 9_999],
     "expression is nested too deeply to read"),
    ("import-dev-zero", ["flags", "import", "/dev/zero"],
     "/dev/zero: more than 50 MiB, over the limit"),
    ("import-fifo", ["flags", "import", "{tmp}/fifo"], "fifo: more than 50 MiB"),
    ("import-directory", ["flags", "import", "{tmp}"], "is a directory"),
    ("import-deep-json", ["flags", "import", "{tmp}/deep.json"],
     "deep.json: nested too deeply to read"),
    ("import-deep-expression", ["flags", "import", "{tmp}/expression.json"],
     f"functions are nested more than {MAX_DEPTH} deep"),
    ("import-deep-yaml", ["flags", "import", "{tmp}/deep.yml"],
     "nested more than 64 levels deep"),
    ("import-not-utf8", ["flags", "import", "{tmp}/latin1.json"], "not UTF-8 text"),
    ("export-to-a-missing-directory", ["flags", "export", "-o", "{tmp}/no/x.json"],
     "no/x.json: No such file or directory"),
]  # fmt: skip


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (tmp_path / "expression.json").write_text(
        '{"features": {"k": {"expression": ' + _nested(MAX_DEPTH + 1) + "}}}"
    )
    (tmp_path / "deep.yml").write_text(
        "features:\n  a:\n    description: " + "[" * 5_000 + "]" * 5_000
    )
    (tmp_path / "latin1.json").write_bytes('{"features": {"é": {}}}'.encode("latin-1"))
    return tmp_path


@pytest.mark.parametrize(
    ("args", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_hostile_input_is_one_line_exit_1_and_writes_nothing(
    cli: Invoke, store: FlagStore, files: Path, args: list[str], message: str
) -> None:
    assert cli("flags", "create", KEY).exit_code == 0
    before = store_state(store)
    args = [a.replace("{tmp}", str(files)) for a in args]
    fifo = files / "fifo"
    with endless_fifo(fifo) if str(fifo) in args else contextlib.nullcontext():
        result = cli(*args)
    assert_one_error(result, message)
    assert store_state(store) == before
    assert [f.key for f in store.list_flags()] == [KEY]


def test_a_bug_is_one_line_too_and_shows_its_trace_when_asked(
    cli: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> FlagStore:
        raise KeyError("state")

    monkeypatch.setattr("flagramp.cli.flags.open_store", broken)
    assert_one_error(
        cli("flags", "list"),
        "unexpected KeyError: 'state' (a bug in flagramp; FLAGRAMP_DEBUG=1 shows "
        "the traceback)",
    )
    monkeypatch.setenv("FLAGRAMP_DEBUG", "1")
    with pytest.raises(KeyError):
        cli("flags", "list")


@pytest.mark.parametrize("login", ["eve\udcff", "eve\x1b[2J"])
def test_a_login_name_that_cannot_be_audited_asks_for_who(
    cli: Invoke, store: FlagStore, monkeypatch: pytest.MonkeyPatch, login: str
) -> None:
    monkeypatch.delenv("FLAGRAMP_USER")
    monkeypatch.setenv("LOGNAME", login)
    before = store_state(store)
    assert_one_error(
        cli("flags", "create", "k"), "is not printable UTF-8 text; say who you are"
    )
    assert store_state(store) == before
