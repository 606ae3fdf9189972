"""The read routes: `GET /features`, `GET /features/:name`, `GET /actors/:id`.

`GET /features` carries an ETag made from the store version: Flipper ≥ 1.4's HTTP
adapter sends it back in `If-None-Match` and keeps its cached answer on `304`.
The version is read before the flags, so an ETag never claims a newer state than
the body it came with; a write anywhere in the store changes it (at worst one
needless full answer, never a stale 304). The written answer is kept by ETag, so
while nothing changes a full answer costs one version read too.
"""

from __future__ import annotations

import hashlib
import re

from flagramp.core.flags import Actor, flipper_view
from flagramp.core.types import Json
from flagramp.server.flipper_api.context import (
    ApiRequest,
    FlipperContext,
    Reply,
    render,
)
from flagramp.server.flipper_api.decorators import actor_json, feature_json
from flagramp.server.flipper_api.errors import FEATURE_NOT_FOUND, FlipperApiError
from flagramp.server.flipper_api.params import Params, requested_feature_names
from flagramp.server.flipper_api.rack import split_commas

#: Bump when the served JSON changes for the same store contents (a new view).
_FORMAT = "flipper-api-1"
#: Query params that do not change the answer (Flipper's adapter's cache bust).
_IGNORED_FOR_ETAG = frozenset({"_cb"})


def list_features(ctx: FlipperContext, request: ApiRequest) -> Reply:
    """Every feature, or those named by `keys`, in the order asked."""
    etag = _etag(ctx, request.params)
    headers = {"etag": etag}
    if _matches(request.headers.get("if-none-match"), etag):
        return Reply(304, headers=headers)
    cached = ctx.rendered.get(etag)
    if cached is None:
        cached = render(_features_document(ctx, request.params))
        ctx.rendered.put(etag, cached)
    return Reply(200, headers=headers, rendered=cached)


def _features_document(ctx: FlipperContext, params: Params) -> Json:
    flags = {f.key: f for f in ctx.store.list_flags(ctx.environment)}
    segments = ctx.segments()
    names = requested_feature_names(params, flags.__contains__)
    if names is None:
        chosen = list(flags.values())
    else:
        chosen = [flags[n] for n in names if n in flags]
    exclude_gates = params.is_true("exclude_gates")
    exclude_gate_names = params.is_true("exclude_gate_names")
    features: list[Json] = [
        feature_json(
            flipper_view(flag, segments).flag,
            exclude_gates=exclude_gates,
            exclude_gate_names=exclude_gate_names,
        )
        for flag in chosen
    ]
    return {"features": features}


def get_feature(ctx: FlipperContext, request: ApiRequest) -> Reply:
    """One feature, or 404 code 1 (which Flipper's adapter reads as "absent")."""
    flag = ctx.store.get_flag(request.feature_key(), ctx.environment)
    if flag is None:
        raise FlipperApiError(FEATURE_NOT_FOUND)
    served = flipper_view(flag, ctx.segments()).flag
    # Flipper's feature action reads exclude_gates only, not exclude_gate_names.
    return Reply(
        200, feature_json(served, exclude_gates=request.params.is_true("exclude_gates"))
    )


def get_actor(ctx: FlipperContext, request: ApiRequest) -> Reply:
    """Which features are on for an actor with this id and no properties.

    With `keys`, the named features are listed whether they exist or not (a
    missing one is off); without, every feature. flagramp decides, deny lists
    and eligibility included.
    """
    flipper_id = request.match.flipper_id
    flags = {f.key: f for f in ctx.store.list_flags(ctx.environment)}
    keys = request.params.string("keys")
    names = list(flags) if keys is None else split_commas(keys)
    evaluator = ctx.evaluator(ctx.segments())
    actor = [Actor(flipper_id)]
    enabled = [
        (name, name in flags and evaluator.is_enabled(flags[name], actor))
        for name in names
    ]
    return Reply(200, actor_json(flipper_id, enabled))


def _etag(ctx: FlipperContext, params: Params) -> str:
    version = ctx.store.version()
    # The raw query too: `keys=a%2Cb` and `keys=a,b` parse alike but ask differently.
    query = [p for p in re.split(r"[&;]", params.query) if p.partition("=")[0] != "_cb"]
    values = sorted(
        (k, repr(v)) for k, v in params.values.items() if k not in _IGNORED_FOR_ETAG
    )
    variant = repr((_FORMAT, ctx.environment, query, values)).encode()
    return f'W/"{version}-{hashlib.sha256(variant).hexdigest()[:16]}"'


def _matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110's weak comparison against an If-None-Match list (or `*`)."""
    if not if_none_match:
        return False
    wanted = if_none_match.strip()
    if wanted == "*":
        return True
    opaque = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == opaque for tag in wanted.split(","))
