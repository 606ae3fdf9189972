"""docs/server.md's matrix and problem table are the code's."""

from __future__ import annotations

from pathlib import Path

from flagramp.server.matrix import (
    END,
    PROBLEMS_END,
    PROBLEMS_START,
    START,
    between,
    matrix_markdown,
    problems_markdown,
    route_table,
)

DOC = Path(__file__).parents[2] / "docs" / "server.md"


def test_the_documented_matrix_is_the_route_tables() -> None:
    documented = between(DOC.read_text(encoding="utf-8"), START, END)
    assert documented == matrix_markdown(), (
        "docs/server.md is stale: run python -c 'from pathlib import Path; "
        "from flagramp.server.matrix import write_matrix; "
        'write_matrix(Path("docs/server.md"))\''
    )


def test_the_documented_problems_are_the_tables() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert between(text, PROBLEMS_START, PROBLEMS_END) == problems_markdown()


def test_only_health_is_open_and_every_other_route_has_one_rule() -> None:
    open_routes = {r.path for r in route_table() if r.access is None}
    assert open_routes == {"/healthz", "/readyz"}
