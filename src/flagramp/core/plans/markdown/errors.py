"""The one error a Markdown document raises when it cannot be read as a plan."""

from __future__ import annotations

from flagramp.core.errors import PlanError


class DocumentUnreadable(PlanError, ValueError):
    """A document that is not text, too large or deep, or not in the template's shape.

    `line` is 0 when the problem is the whole file (its size, its encoding).
    """

    code = "document_unreadable"

    def __init__(self, file: str, reason: str, line: int = 0) -> None:
        self.file = file
        self.reason = reason
        self.line = line
        where = f"{file}:{line}" if line else file
        super().__init__(f"{where}: {reason}")
