"""`flagramp plan import-markdown` as a user runs it: a draft written whole, every
TBD listed by `plan lint`, and one-line errors for what cannot be read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flagramp.cli.app import app
from flagramp.core.plans.markdown import MAX_CHARS, import_markdown
from tests.cli.conftest import assert_one_error
from tests.core.plans.markdown.documents import FOUR_TOGGLES, TWO_TOGGLES
from tests.core.plans.markdown.fill import fill

runner = CliRunner()


@pytest.fixture
def document(tmp_path: Path) -> Path:
    path = tmp_path / "plan.md"
    path.write_text(FOUR_TOGGLES, encoding="utf-8")
    return path


def test_writes_the_draft_and_says_what_is_left(document: Path, tmp_path: Path) -> None:
    out = tmp_path / "draft.yaml"
    result = runner.invoke(
        app, ["plan", "import-markdown", str(document), "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    expected = import_markdown(FOUR_TOGGLES, str(document))
    assert out.read_text(encoding="utf-8") == expected.yaml
    assert result.stderr.splitlines() == [
        f"drafted: {out} from {document}: 4 phases, 8 stages, "
        f"{len(expected.tbds)} TBDs left to decide",
        f"next: fill in the TBDs; `flagramp plan lint {out}` lists them",
    ]
    assert f"# from {document}:" in expected.yaml


def test_without_out_the_draft_goes_to_stdout(document: Path) -> None:
    result = runner.invoke(app, ["plan", "import-markdown", str(document)])
    assert result.exit_code == 0
    assert result.stdout == import_markdown(FOUR_TOGGLES, str(document)).yaml
    assert result.stderr.startswith("drafted: the draft from ")


def test_an_existing_draft_is_kept_unless_forced(
    document: Path, tmp_path: Path
) -> None:
    out = tmp_path / "draft.yaml"
    out.write_text("my edits\n", encoding="utf-8")
    args = ["plan", "import-markdown", str(document), "-o", str(out)]
    assert_one_error(runner.invoke(app, args), f"{out} already exists; pass --force")
    assert out.read_text(encoding="utf-8") == "my edits\n"
    assert runner.invoke(app, [*args, "--force"]).exit_code == 0
    assert out.read_text(encoding="utf-8").startswith("# Draft release plan")


def test_the_document_itself_is_never_replaced(document: Path) -> None:
    args = ["plan", "import-markdown", str(document), "-o", str(document), "--force"]
    assert_one_error(runner.invoke(app, args), "is the document itself")
    assert document.read_text(encoding="utf-8") == FOUR_TOGGLES


@pytest.mark.parametrize("text", [FOUR_TOGGLES, TWO_TOGGLES], ids=["four", "two"])
def test_plan_lint_lists_every_tbd_of_the_draft_once(text: str, tmp_path: Path) -> None:
    document = tmp_path / "plan.md"
    document.write_text(text, encoding="utf-8")
    out = tmp_path / "draft.yaml"
    runner.invoke(app, ["plan", "import-markdown", str(document), "-o", str(out)])
    result = runner.invoke(app, ["plan", "lint", "--json", str(out)])
    assert result.exit_code == 1
    problems = json.loads(result.stdout)["problems"]
    tbd_lines = [
        number
        for number, line in enumerate(out.read_text(encoding="utf-8").splitlines(), 1)
        if line.split("  # ")[0].endswith(": TBD") or line.strip() == "- TBD"
    ]
    assert sorted(p["line"] for p in problems) == tbd_lines
    assert {p["level"] for p in problems} == {"error", "warning"}


def test_the_filled_draft_validates(document: Path, tmp_path: Path) -> None:
    filled = tmp_path / "filled.yaml"
    filled.write_text(fill(import_markdown(FOUR_TOGGLES, str(document))), "utf-8")
    result = runner.invoke(app, ["plan", "validate", str(filled)])
    assert result.exit_code == 0, result.output
    assert f"ok: {filled}: 4 phases, 8 stages" in result.stdout


def _nested(depth: int) -> bytes:
    return "".join("  " * d + "- item\n" for d in range(depth)).encode()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"# Plan\n\x00\x01\x02", "plan.md:2: holds binary data (a NUL byte)"),
        (b"# Plan\n\nok\n\xff\xfe", "plan.md:4: is not UTF-8 text (a binary file?)"),
        (b"x" * (MAX_CHARS + 1), "plan.md: holds more than 262,144 bytes"),
        (_nested(40), "plan.md:9: nested more than 8 levels deep"),
        (b"# Notes\n\nnothing to roll out\n", "plan.md: no phases or stages"),
    ],
    ids=["binary", "not-utf8", "huge", "nested", "not-a-plan"],
)
def test_unreadable_documents_are_one_line_errors_and_write_nothing(
    tmp_path: Path, content: bytes, message: str
) -> None:
    document = tmp_path / "plan.md"
    document.write_bytes(content)
    out = tmp_path / "draft.yaml"
    result = runner.invoke(
        app, ["plan", "import-markdown", str(document), "-o", str(out)]
    )
    assert_one_error(result, message.replace("plan.md", str(document)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.md"]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("missing.md", "cannot read: No such file or directory"),
        (".", "cannot read: Is a directory"),
    ],
)
def test_files_that_cannot_be_read(tmp_path: Path, name: str, message: str) -> None:
    result = runner.invoke(app, ["plan", "import-markdown", str(tmp_path / name)])
    assert_one_error(result, message)


def test_a_device_that_never_ends_is_refused_by_size() -> None:
    dev_zero = Path("/dev/zero")
    if not dev_zero.exists():
        pytest.skip("no /dev/zero here")
    result = runner.invoke(app, ["plan", "import-markdown", str(dev_zero)])
    assert_one_error(result, "holds more than 262,144 bytes")


def test_a_draft_that_cannot_be_written_leaves_nothing(
    document: Path, tmp_path: Path
) -> None:
    out = tmp_path / "no-such-dir" / "draft.yaml"
    result = runner.invoke(
        app, ["plan", "import-markdown", str(document), "-o", str(out)]
    )
    assert_one_error(result, f"{out}: cannot write: No such file or directory")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.md"]
