"""Pydantic's validation errors, reworded for plan authors and placed in the file."""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from functools import cache

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from flagramp.core.plans.base import TBD
from flagramp.core.plans.nodes import Node, present
from flagramp.core.plans.percentages import show_number
from flagramp.core.plans.plan import Plan
from flagramp.core.plans.problems import Loc

#: Tags of the plan's tagged unions; pydantic puts them in error paths.
TAGS = frozenset(
    {
        "rollout", "manual", "http", "hook",
        "ratio", "share_of_users", "share_above", "count", "mean", "quantile",
        "unique_actors", "pushed", "prometheus", "datadog",
        "absolute", "relative_to_control", "relative_to_baseline", "new_error_class",
        "function-after", "function-before", "function-plain",
    }
)  # fmt: skip

#: What to write for a missing field, shown as the fix hint.
EXAMPLES: Mapping[str, str] = {
    "name": "name: a-short-name",
    "title": "title: What this release does",
    "owner": "owner: <a role of the plan>",
    "product_owner": "product_owner: <a role of the plan>",
    "environment": "environment: production",
    "roles": "roles: {eng_lead: {people: [you@example.gov], signs: [go_no_go]}}",
    "phases": "phases: [{name: Phase I, flags: [my_flag], stages: [...]}]",
    "rollback": "rollback: {severities: {critical: {action: disable_all}}}",
    "stages": "stages: [{name: Canary, percentage: 5, hold: 2h}]",
    "percentage": "percentage: 25",
    "hold": "hold: 2h  (30m, 1h, 2d, 1w, 1mo)",
    "severity": "severity: high  (critical, high, medium or low)",
    "kind": "kind: <one of the kinds listed in docs/plans.md>",
    "metric": "metric: <a name under `metrics:`>",
    "flags": "flags: [my_flag]",
    "people": "people: [you@example.gov]",
    "action": "action: disable_all  (disable_all, step_back or continue)",
    "text": "text: the question or item, in words",
    "signed_by": "signed_by: <a role of the plan>",
    "watch": "watch: 1w",
    "checklist": "checklist: [{text: what to do, role: <a role>}]",
    "start": "start: 2026-01-15",
    "url": "url: https://…",
    "mde": "mde: 1  (the smallest harm beyond the limit to catch, in its unit)",
    "approved_by": "approved_by: [<a role that signs re-enable>]",
    "target": "target: 2026-01-15",
    "source": "source: datadog  (or alertmanager)",
}

#: Fields a revision of the plan language renamed or moved, and what to write.
RENAMED: Mapping[str, str] = {
    "reenable_approved_by": "write `re-enable: {approved_by: [...]}` under rollback",
    "re_enable": "write `re-enable:` (one spelling everywhere)",
    "reenable": "write `re-enable:` (one spelling everywhere)",
    "resume_at": "it moved: write `re-enable: {approved_by: [...], resume_at: ...}`",
    "alpha": "α is set per stage (stages[].alpha, default 0.05), not per criterion",
    "baseline_value": "give the metric's usual value as metrics.<name>.typical",
    "scope": "a count's scope follows its event: an actor's events count in "
    "treatment, events without an actor for the whole environment",
    "date": "no `date` here; a milestone's date is its `target`",
}

_FORBIDDEN_COMMANDS = frozenset({"command", "cmd", "shell", "run", "script", "exec"})


def problems_from(
    error: ValidationError, root: Node
) -> Iterator[tuple[Loc, str, str, bool]]:
    """Each error as (path, message, hint, at_key); `at_key` points at the key."""
    details = error.errors(include_url=False)
    for detail in details:
        if detail["type"] == "too_short" and _has_inner_error(detail, details):
            continue  # pydantic adds this when items failed, not when it was short
        keep_last = detail["type"] in ("missing", "extra_forbidden")
        loc = clean_loc(detail["loc"], root, keep_last=keep_last)
        message, hint, at_key = _reword(detail, loc)
        yield loc, message, hint, at_key


def _has_inner_error(outer: ErrorDetails, details: list[ErrorDetails]) -> bool:
    size = len(outer["loc"])
    return any(
        len(d["loc"]) > size and d["loc"][:size] == outer["loc"] for d in details
    )


def clean_loc(loc: tuple[str | int, ...], root: Node, *, keep_last: bool = True) -> Loc:
    """Drop the parts of a pydantic path that are not written in the file.

    The last part names a missing or unknown field for those errors
    (`keep_last`); otherwise a trailing union tag is dropped like any other.
    """
    kept: list[str | int] = []
    for index, part in enumerate(loc):
        is_last = index == len(loc) - 1
        if (
            not (is_last and keep_last)
            and isinstance(part, str)
            and part in TAGS
            and not present(root, (*kept, part))
        ):
            continue
        kept.append(part)
    return tuple(kept)


def _reword(detail: ErrorDetails, loc: Loc) -> tuple[str, str, bool]:
    kind = detail["type"]
    ctx = detail.get("ctx", {})
    value = detail["input"]
    field = str(loc[-1]) if loc and isinstance(loc[-1], str) else ""
    if isinstance(value, str) and value.strip() == TBD:
        # A draft's blank (`plan import-markdown`): say so, not "not a number".
        return "'TBD' is left to decide", EXAMPLES.get(field, ""), False
    if kind == "missing":
        return "is required", EXAMPLES.get(field, f"add `{field}:`"), False
    if kind == "extra_forbidden":
        return _unknown_field(field)
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        tags = str(ctx.get("expected_tags", "")).replace("'", "")
        if kind == "union_tag_not_found":
            return "`kind` is required", f"add `kind:` with one of {tags}", False
        return f"unknown kind {ctx.get('tag')!r}", f"use one of {tags}", False
    if kind in ("enum", "literal_error"):
        expected = str(ctx.get("expected", "")).replace("'", "")
        return f"{_show(value)} is not one of {expected}", "", False
    if kind == "string_pattern_mismatch":
        return _pattern(value, str(ctx.get("pattern", "")))
    if kind in ("too_short", "string_too_short"):
        if isinstance(value, str) or kind == "string_too_short":
            return "must not be empty", "", False
        return "needs at least one entry", EXAMPLES.get(field, ""), False
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"{_show(value)} is not a whole number", "", False
    if kind in ("float_parsing", "float_type", "finite_number"):
        return f"{_show(value)} is not a finite number", "", False
    if kind in ("bool_type", "bool_parsing"):
        return f"{_show(value)} is not true or false", "", False
    if kind.startswith(("date", "datetime")):
        return f"{_show(value)} is not a date", "write it as YYYY-MM-DD", False
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        return _bound(kind, value, ctx)
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return f"expected a mapping (key: value), got {_show(value)}", "", False
    if kind in ("tuple_type", "list_type"):
        return f"expected a list, got {_show(value)}", "write it as [a, b]", False
    if kind == "string_type":
        return f"expected text, got {_show(value)}", "", False
    if kind == "value_error":
        return str(detail["msg"]).removeprefix("Value error, "), "", False
    return str(detail["msg"]), "", False


def _unknown_field(field: str) -> tuple[str, str, bool]:
    if field in RENAMED:
        return f"unknown field `{field}`", RENAMED[field], True
    if field in _FORBIDDEN_COMMANDS:
        return (
            f"unknown field `{field}`: a plan never carries commands",
            "register a hook on the server and name it: {kind: hook, name: <hook>}",
            True,
        )
    close = difflib.get_close_matches(field, sorted(_all_fields()), n=1, cutoff=0.75)
    hint = f"did you mean `{close[0]}`?" if close else "remove it or check its indent"
    return f"unknown field `{field}`", hint, True


def _pattern(value: object, pattern: str) -> tuple[str, str, bool]:
    if "https?" in pattern:
        return f"{_show(value)} is not a web address", "start it with https://", False
    if "[01]" in pattern:
        return f"{_show(value)} is not a time of day", "write it as 22:00", False
    return (
        f"{_show(value)} is not a valid name",
        "start with a letter; use letters, digits, _, . and -",
        False,
    )


def _bound(
    kind: str, value: object, ctx: Mapping[str, object]
) -> tuple[str, str, bool]:
    word = {
        "greater_than_equal": ("below", "ge"),
        "greater_than": ("at or below", "gt"),
        "less_than_equal": ("above", "le"),
        "less_than": ("at or above", "lt"),
    }[kind]
    limit = ctx.get(word[1])
    return f"{_show(value)} is {word[0]} {_show(limit)}", "", False


def _show(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return show_number(value)
    if isinstance(value, str):
        return repr(value)
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return type(value).__name__


@cache
def _all_fields() -> frozenset[str]:
    # Every field name of every plan model: candidates for "did you mean".
    names: set[str] = set()
    for definition in Plan.model_json_schema().get("$defs", {}).values():
        names.update(definition.get("properties", {}))
    names.update(Plan.model_fields)
    return frozenset(names)
