"""The write routes: add, remove, clear, and every gate.

Flipper's semantics come from `core.flags.operations`: enabling the boolean gate
clears the other gates, disabling it clears all; a gate write adds the feature
first, as `Feature#enable`/`#disable` call `adapter.add`; a percentage is disabled
by writing `"0"`. Answers: `POST /features` 200 (not 201), every gate write 200
with the feature, remove and clear 204.
"""

from __future__ import annotations

import contextlib

import regex

from flagramp.core.errors import FlagNotFound, InvalidExpression
from flagramp.core.flags import Flag, Percentage
from flagramp.core.flags import operations as ops
from flagramp.core.flags.percentage import ZERO
from flagramp.core.flags.ruby import ruby_float_to_s, ruby_to_number
from flagramp.server.flipper_api.context import (
    ApiRequest,
    FlagChange,
    FlipperContext,
    Reply,
    checked_key,
)
from flagramp.server.flipper_api.errors import (
    EXPRESSION_INVALID,
    FLIPPER_ID_INVALID,
    GROUP_NOT_REGISTERED,
    NAME_INVALID,
    PERCENTAGE_INVALID,
    FlipperApiError,
)
from flagramp.server.flipper_api.rack import ParamValue

# Flipper main's `Typecast.to_feature_name`: invisible format and control
# characters and U+2800 go, then Unicode white space at either end.
_INVISIBLE = regex.compile(r"[\p{Default_Ignorable_Code_Point}\p{Cc}\u2800]")
_EDGE_SPACE = regex.compile(r"\A\p{White_Space}+|\p{White_Space}+\Z")
_DIGIT = regex.compile(r"[0-9]")


def add_feature(ctx: FlipperContext, request: ApiRequest) -> Reply:
    """`POST /features {"name": …}`: idempotent; an existing feature keeps its gates."""
    if "name" not in request.params:
        raise FlipperApiError(NAME_INVALID)
    key = checked_key(to_feature_name(_name(request.params.get("name"))))
    flag = ctx.store.create_flag(Flag(key=key), request.author, ctx.environment)
    return ctx.feature_reply(flag)


def remove_feature(ctx: FlipperContext, request: ApiRequest) -> Reply:
    """`DELETE /features/:name`: 204 whether or not it existed."""
    with contextlib.suppress(FlagNotFound):
        ctx.store.delete_flag(request.feature_key(), request.author, ctx.environment)
    return Reply(204)


def clear_feature(ctx: FlipperContext, request: ApiRequest) -> Reply:
    """`DELETE /features/:name/clear`: every gate value goes, the feature stays
    (a missing feature is not added, as Flipper's `clear` does not add it)."""
    with contextlib.suppress(FlagNotFound):
        ctx.store.change_flag(
            request.feature_key(), ops.clear, request.author, ctx.environment, "clear"
        )
    return Reply(204)


def enable_boolean(ctx: FlipperContext, request: ApiRequest) -> Reply:
    return _write(ctx, request, ops.enable, "enable")


def disable_boolean(ctx: FlipperContext, request: ApiRequest) -> Reply:
    return _write(ctx, request, ops.disable, "disable")


def enable_actor(ctx: FlipperContext, request: ApiRequest) -> Reply:
    flipper_id = _flipper_id(request)
    return _write(ctx, request, lambda f: ops.add_actor(f, flipper_id), "enable_actor")


def disable_actor(ctx: FlipperContext, request: ApiRequest) -> Reply:
    flipper_id = _flipper_id(request)
    return _write(
        ctx, request, lambda f: ops.remove_actor(f, flipper_id), "disable_actor"
    )


def enable_group(ctx: FlipperContext, request: ApiRequest) -> Reply:
    group = _group(ctx, request)
    return _write(ctx, request, lambda f: ops.add_group(f, group), "enable_group")


def disable_group(ctx: FlipperContext, request: ApiRequest) -> Reply:
    group = _group(ctx, request)
    return _write(ctx, request, lambda f: ops.remove_group(f, group), "disable_group")


def set_percentage_of_actors(ctx: FlipperContext, request: ApiRequest) -> Reply:
    pct = parse_percentage(request.params.get("percentage"))
    return _write(
        ctx,
        request,
        lambda f: ops.set_percentage_of_actors(f, pct),
        "set_percentage_of_actors",
    )


def disable_percentage_of_actors(ctx: FlipperContext, request: ApiRequest) -> Reply:
    return _write(
        ctx, request, ops.disable_percentage_of_actors, "disable_percentage_of_actors"
    )


def set_percentage_of_time(ctx: FlipperContext, request: ApiRequest) -> Reply:
    pct = parse_percentage(request.params.get("percentage"))
    return _write(
        ctx,
        request,
        lambda f: ops.set_percentage_of_time(f, pct),
        "set_percentage_of_time",
    )


def disable_percentage_of_time(ctx: FlipperContext, request: ApiRequest) -> Reply:
    return _write(
        ctx,
        request,
        lambda f: ops.set_percentage_of_time(f, ZERO),
        "disable_percentage_of_time",
    )


def enable_expression(ctx: FlipperContext, request: ApiRequest) -> Reply:
    """The body is the expression itself; what Flipper cannot build is code 7."""
    body = request.json_body if isinstance(request.json_body, dict) else {}
    key = request.feature_key()
    try:
        checked = ops.set_expression(Flag(key=key), body).expression
    except InvalidExpression as exc:
        raise FlipperApiError(EXPRESSION_INVALID) from exc
    assert checked is not None
    return _write(
        ctx, request, lambda f: f.with_changes(expression=checked), "enable_expression"
    )


def disable_expression(ctx: FlipperContext, request: ApiRequest) -> Reply:
    # Flipper's adapter sends `{"All": []}` as the body; Flipper ignores it.
    return _write(ctx, request, ops.remove_expression, "disable_expression")


def to_feature_name(name: str) -> str:
    """Flipper main's name clean-up: `"\\u200bsearch "` is `search`."""
    return _EDGE_SPACE.sub("", _INVISIBLE.sub("", name))


def parse_percentage(raw: ParamValue) -> Percentage:
    """A percentage param as Flipper's gate actions read it, or code 3.

    The text must contain a digit; then `Typecast.to_number` (a `.` means
    `to_f`, else `to_i`, both lenient: `"25abc"` is 25, `"1e2"` is 1) and the
    range 0..100. The stored text is Ruby's `to_s` of that number: `"25"`,
    `"12.5"`, and `"25.0"` stays `"25.0"`.
    """
    if not isinstance(raw, str) or not _DIGIT.search(raw):
        raise FlipperApiError(PERCENTAGE_INVALID)
    number = ruby_to_number(raw)
    if not 0 <= number <= 100:
        raise FlipperApiError(PERCENTAGE_INVALID)
    text = str(number) if isinstance(number, int) else ruby_float_to_s(number)
    return Percentage.from_flipper(text)


def _write(
    ctx: FlipperContext,
    request: ApiRequest,
    change: FlagChange,
    action: str,
) -> Reply:
    flag = ctx.upsert(request.feature_key(), change, request.author, action)
    return ctx.feature_reply(flag)


def _name(value: ParamValue) -> str:
    # Ruby would write a list or hash param as its `to_s`; flagramp refuses it.
    if value is None:
        return ""
    if not isinstance(value, str):
        raise FlipperApiError(NAME_INVALID)
    return value


def _flipper_id(request: ApiRequest) -> str:
    """The actor gate's `flipper_id`; absent (or not a string) is code 4; an
    empty string is accepted, as in Flipper."""
    value = request.params.get("flipper_id")
    if not isinstance(value, str):
        raise FlipperApiError(FLIPPER_ID_INVALID)
    return value


def _group(ctx: FlipperContext, request: ApiRequest) -> str:
    """The group gate's `name`: missing or empty is code 5; a group that is no
    segment of this environment is code 2 unless `allow_unregistered_groups=true`
    (which Flipper's HTTP adapter always sends)."""
    name = request.params.get("name")
    if not isinstance(name, str) or not name:
        raise FlipperApiError(NAME_INVALID)
    allowed = request.params.get("allow_unregistered_groups") == "true"
    if not allowed and name not in ctx.segments():
        raise FlipperApiError(GROUP_NOT_REGISTERED)
    return name
