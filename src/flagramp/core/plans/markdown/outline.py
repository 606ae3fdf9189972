"""A Markdown document as a flat list of lines that know where they were written.

markdown-it (CommonMark, with tables) reads the structure: headings, list items
and their depth, paragraphs, table rows, emphasis, links. This module keeps only
what the template's rules need: each heading, list item, paragraph line and
table row as one `Block` with its 1-based line number and its plain text.
Code blocks and raw HTML are skipped; they hold no plan values.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum

from markdown_it import MarkdownIt
from markdown_it.token import Token

from flagramp.core.plans.markdown.errors import DocumentUnreadable

#: The largest document read, in characters. Release plans are a few kilobytes
#: (the seeds are 6 to 19 KB); markdown-it is pure Python, and a hostile
#: quarter-megabyte already takes seconds to parse.
MAX_CHARS = 256 * 1024
#: markdown-it's nesting limit (blockquotes, lists). Rationale: past it the
#: parser stops nesting and swallows the rest of the block without a word; we
#: refuse such a document instead of importing part of it.
MAX_NESTING = 20
#: The deepest list (or quote) a document may hold: each level costs markdown-it
#: two of MAX_NESTING, and a list item's text two more.
MAX_LIST_DEPTH = (MAX_NESTING - 3) // 2


class Kind(StrEnum):
    """What a block is."""

    HEADING = "heading"
    ITEM = "item"
    TEXT = "text"
    ROW = "row"


@dataclass(frozen=True, slots=True)
class Block:
    """One heading, list item, paragraph line or table row."""

    kind: Kind
    text: str
    """Plain text: emphasis and code marks dropped, whitespace collapsed."""
    line: int
    level: int = 0
    """A heading's level (1-6)."""
    depth: int = 0
    """A list item's nesting (0 for a top-level item)."""
    bold: bool = False
    """Every character of the line is bold (`**Stage A: 5% of users**`)."""
    checkbox: bool = False
    """A task item, `- [ ] text`; the box is not part of `text`."""
    paragraph: int = 0
    """Lines of one paragraph share this number."""
    cells: tuple[str, ...] = ()
    header: bool = False
    """A table's header row."""
    columns: tuple[str, ...] = ()
    """A table row's column names (its table's header cells)."""
    links: tuple[tuple[str, str], ...] = ()
    """The Markdown links on the line: (text, target)."""
    code: tuple[str, ...] = ()
    """Code spans on the line (toggle names are often written `like_this`)."""


def outline(text: str, file: str) -> list[Block]:
    """The blocks of a document, in order; raises DocumentUnreadable."""
    _check_text(text, file)
    parser = MarkdownIt("commonmark", {"maxNesting": MAX_NESTING}).enable("table")
    tokens = parser.parse(text)
    _check_nesting(tokens, file)
    return list(_blocks(tokens))


def _check_text(text: str, file: str) -> None:
    if len(text) > MAX_CHARS:
        raise DocumentUnreadable(
            file,
            f"the document holds {len(text):,} characters, more than the "
            f"{MAX_CHARS:,} a release plan may",
        )
    nul = text.find("\x00")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        raise DocumentUnreadable(file, "holds binary data (a NUL byte)", line)


def _check_nesting(tokens: Sequence[Token], file: str) -> None:
    for token in tokens:
        if token.level >= MAX_NESTING - 1:
            line = token.map[0] + 1 if token.map else 1
            raise DocumentUnreadable(
                file, f"nested more than {MAX_LIST_DEPTH} levels deep", line
            )


def _blocks(tokens: Sequence[Token]) -> Iterator[Block]:
    depth = -1  # list depth: -1 outside any list
    paragraph = 0
    item_open = False  # the next paragraph is a list item's first
    header = False
    columns: tuple[str, ...] = ()
    row: list[str] = []
    row_line = 0
    for index, token in enumerate(tokens):
        kind = token.type
        if kind in ("bullet_list_open", "ordered_list_open"):
            depth += 1
            item_open = False
        elif kind in ("bullet_list_close", "ordered_list_close"):
            depth -= 1
        elif kind == "list_item_open":
            item_open = True
        elif kind == "list_item_close":
            item_open = False
        elif kind == "thead_open":
            header = True
        elif kind == "thead_close":
            header = False
        elif kind == "tr_open":
            row, row_line = [], _line(token)
        elif kind == "tr_close":
            columns = (*row,) if header else columns
            yield Block(
                Kind.ROW,
                " | ".join(row),
                row_line,
                cells=(*row,),
                header=header,
                columns=columns,
            )
        elif kind == "inline" and tokens[index - 1].type in ("th_open", "td_open"):
            row.append(" ".join(line.text for line in _lines(token)))
        elif kind == "inline" and tokens[index - 1].type == "heading_open":
            level = int(tokens[index - 1].tag[1:])
            text = " ".join(line.text for line in _lines(token))
            yield Block(Kind.HEADING, text, _line(token), level=level)
        elif kind == "inline" and tokens[index - 1].type == "paragraph_open":
            paragraph += 1
            lines = list(_lines(token))
            if item_open:
                item_open = False
                yield _item(lines, depth, paragraph)
                continue
            for line in lines:
                yield _text_line(line, paragraph)


@dataclass(frozen=True, slots=True)
class _Line:
    text: str
    line: int
    bold: bool
    links: tuple[tuple[str, str], ...]
    code: tuple[str, ...]


def _line(token: Token) -> int:
    return token.map[0] + 1 if token.map else 1


def _lines(inline: Token) -> Iterator[_Line]:
    """The source lines of an inline token, as plain text."""
    line = _line(inline)
    parts: list[str] = []
    bold_parts: list[bool] = []
    links: list[tuple[str, str]] = []
    code: list[str] = []
    strong = 0
    link: tuple[str, int] | None = None  # the open link's target, where its text starts
    for child in inline.children or []:
        if child.type in ("softbreak", "hardbreak"):
            yield _finish(parts, bold_parts, line, links, code)
            parts, bold_parts, links, code = [], [], [], []
            line += 1
        elif child.type in ("text", "code_inline"):
            parts.append(child.content)
            bold_parts.append(strong > 0 or not child.content.strip())
            if child.type == "code_inline":
                code.append(child.content)
        elif child.type == "strong_open":
            strong += 1
        elif child.type == "strong_close":
            strong -= 1
        elif child.type == "link_open":
            href = child.attrs.get("href")
            link = (href, len(parts)) if isinstance(href, str) else None
        elif child.type == "link_close" and link is not None:
            label = " ".join("".join(parts[link[1] :]).split())
            links.append((label, link[0]))
            link = None
    yield _finish(parts, bold_parts, line, links, code)


def _finish(
    parts: list[str],
    bold: list[bool],
    line: int,
    links: list[tuple[str, str]],
    code: list[str],
) -> _Line:
    text = " ".join("".join(parts).split())
    return _Line(text, line, bool(text) and all(bold), (*links,), (*code,))


def _item(lines: list[_Line], depth: int, paragraph: int) -> Block:
    text = " ".join(line.text for line in lines if line.text)
    checkbox = text[:3].lower() in ("[ ]", "[x]")
    if checkbox:
        text = text[3:].strip()
    return Block(
        Kind.ITEM,
        text,
        lines[0].line,
        depth=max(depth, 0),
        checkbox=checkbox,
        paragraph=paragraph,
        links=tuple(link for line in lines for link in line.links),
        code=tuple(span for line in lines for span in line.code),
    )


def _text_line(line: _Line, paragraph: int) -> Block:
    # `-Length of time: 1 day` (no space after the dash) is not a list item to
    # CommonMark, but the template means one.
    if line.text.startswith("-") and not line.text.startswith("--"):
        return Block(
            Kind.ITEM,
            line.text[1:].strip(),
            line.line,
            paragraph=paragraph,
            links=line.links,
            code=line.code,
        )
    return Block(
        Kind.TEXT,
        line.text,
        line.line,
        bold=line.bold,
        paragraph=paragraph,
        links=line.links,
        code=line.code,
    )
