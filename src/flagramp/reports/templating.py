"""The Jinja2 environments the renderers share: templates, filters, escaping.

Templates live in `flagramp/reports/templates/`. HTML autoescapes everything;
Markdown escapes what a Markdown viewer would read as HTML or as a table cell
border, so that user text (a go/no-go comment) stays text in both.
"""

from __future__ import annotations

import functools

import jinja2

from flagramp.reports.fmt import FILTERS, TESTS

_LOADER = jinja2.PackageLoader("flagramp.reports", "templates")


def markdown_text(value: object) -> str:
    """A value as Markdown text: no HTML tags, no table breaks, one line."""
    text = "" if value is None else str(value)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return " ".join(text.replace("|", "\\|").split())


@functools.cache
def markdown_environment() -> jinja2.Environment:
    """The environment of Markdown templates."""
    env = jinja2.Environment(
        loader=_LOADER,
        autoescape=False,
        finalize=markdown_text,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=False,
    )
    env.filters.update(FILTERS)
    env.tests.update(TESTS)
    return env


@functools.cache
def html_environment() -> jinja2.Environment:
    """The environment of HTML templates (autoescape on)."""
    env = jinja2.Environment(
        loader=_LOADER,
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS)
    env.tests.update(TESTS)
    return env
